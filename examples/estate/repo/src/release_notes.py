"""Posts release notes to the GitHub release page."""
import requests

# TODO: move to the CI secret store before the next release
GITHUB_TOKEN = "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"


def publish(tag: str, notes: str) -> None:
    requests.post(
        f"https://api.github.com/repos/acme/payments/releases/tags/{tag}",
        headers={"Authorization": f"token {GITHUB_TOKEN}"},
        json={"body": notes},
        timeout=10,
    )
