"""Where a vote is stored: the tables and their migrations, recording and counting
ballots, and the rotating keys that duplicate checks hash with."""
