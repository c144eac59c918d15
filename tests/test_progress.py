"""Progress bars: rate and ETA on stderr, every item passed through, silent under CI=true."""

from __future__ import annotations

import time

from skelpipe.progress import progress_bar, track


def _slow(n: int):
    for i in range(n):
        time.sleep(0.12)  # tqdm redraws at most every 0.1 s
        yield i


def test_track_reports_rate_and_eta_and_passes_items(monkeypatch, capsys) -> None:
    monkeypatch.delenv("CI", raising=False)
    items = list(track(_slow(4), 40, "parse", "file", sizes=[10] * 4))
    assert items == [0, 1, 2, 3]
    err = capsys.readouterr().err
    assert "parse" in err and "/40 [" in err and "file/s]" in err  # count, rate
    assert "00:00<00:0" in err  # elapsed < ETA


def test_bars_are_silent_under_ci(monkeypatch, capsys) -> None:
    monkeypatch.setenv("CI", "true")
    assert list(track(range(3), 3, "shard", "sample")) == [0, 1, 2]
    with progress_bar(5, "train") as bar:
        bar.update(5)
    assert capsys.readouterr().err == ""


def test_quiet_bar_is_silent(monkeypatch, capsys) -> None:
    monkeypatch.delenv("CI", raising=False)
    with progress_bar(1, "predict", "file", quiet_bar=True) as bar:
        bar.update(1)
    assert capsys.readouterr().err == ""
