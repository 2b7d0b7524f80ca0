"""Where results are published: the results document and every file drawn from
it (CSV, charts, share card, embed), written into the site under one lock."""
