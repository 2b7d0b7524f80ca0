"""Polls in the site: definitions from content/polls/, numbers from results.json.

An article names its poll in metadata (``Poll: inquiry``). At build time this
plugin attaches the poll's definition and its latest published results, so the
numbers are in the HTML itself, for readers without JavaScript and for link
previews. Every template also gets ``polls``: each poll with its results.
"""

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from pelican import signals

from poll_service.polldefs import Poll, load_polls

log = logging.getLogger(__name__)


@dataclass
class PublishedPoll:
    poll: Poll
    results: dict | None  # the published results.json, or None before the first publish

    @property
    def id(self) -> str:
        return self.poll.id


def read_results(output_path: Path, poll_id: str) -> dict | None:
    path = output_path / "polls" / poll_id / "results.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError:
        log.warning("Ignoring unreadable results file %s", path)
        return None


def load_published_polls(settings) -> dict[str, PublishedPoll]:
    output_path = Path(settings["OUTPUT_PATH"])
    return {
        poll_id: PublishedPoll(poll, read_results(output_path, poll_id))
        for poll_id, poll in load_polls(settings["POLLS_DIR"]).items()
    }


def add_polls(generator):
    if "polls" not in generator.context:
        generator.context["polls"] = load_published_polls(generator.settings)


def attach_polls(generator):
    polls = generator.context["polls"]
    for article in generator.articles + generator.drafts:
        name = getattr(article, "poll", None)
        if name is None:
            continue
        if name not in polls:
            raise ValueError(
                f"{article.source_path}: field 'Poll': no poll called '{name}' in "
                f"{generator.settings['POLLS_DIR']}"
            )
        article.published_poll = polls[name]


def register():
    signals.generator_init.connect(add_polls)
    signals.article_generator_finalized.connect(attach_polls)
