#!/usr/bin/env python3
"""Runs every `fathom` command shown in README.md and docs/*.md and checks that it succeeds.

Usage: check_commands.py FATHOM REPO_ROOT

A command is a line of a ```sh block that starts with `fathom ` (with its backslash
continuations). Commands that name files the reader is meant to supply (my-plan.yaml,
path/to/config.json, SCENARIO...), that start a server, or that run `fathom validate` (the
validation guard runs it) are counted as skipped. Each runs
in a scratch directory that links the repository's examples/, so that files a command
writes (a trace, a plan) land there, with FATHOM_DATA set to the shipped catalog. Exit
status 0 is required; warnings are allowed.

A transcript is a plain ``` block whose first line is `$ fathom ...`: the rest of the block is
that command's standard output, which must match what the command prints now, so that the
figures shown in the docs cannot go stale. `--update-transcripts` rewrites those blocks with
what the commands print now (review the diff).
"""
import os
import pathlib
import re
import shlex
import subprocess
import sys
import tempfile
import time

# Words that mark a command as a template for the reader's own files.
PLACEHOLDERS = ("my-plan.yaml", "plan.yaml", "base.yaml", "path/to/", "SCENARIO", "MODEL",
                "runs.json", "DIR", "--hostfile")


def commands(path):
    """The `fathom` command lines of the sh blocks of one Markdown file, with line numbers."""
    out = []
    in_block = False
    pending = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            in_block = line.strip() in ("```sh", "```bash", "```console") and not in_block
            pending = None
            continue
        if not in_block:
            continue
        if pending is not None:
            pending[1] += " " + line.strip().rstrip("\\")
            if not line.rstrip().endswith("\\"):
                out.append(tuple(pending))
                pending = None
            continue
        if line.startswith("fathom "):
            entry = [number, line.rstrip().rstrip("\\")]
            if line.rstrip().endswith("\\"):
                pending = entry
            else:
                out.append(tuple(entry))
    return out


def transcripts(path):
    """(line number, command, expected stdout) of the transcript blocks of one Markdown file."""
    out = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```" and i + 1 < len(lines) and lines[i + 1].startswith("$ fathom "):
            end = i + 2
            while end < len(lines) and not lines[end].startswith("```"):
                end += 1
            out.append((i + 2, lines[i + 1][2:], "\n".join(lines[i + 2:end]) + "\n"))
            i = end
        i += 1
    return out


def update_transcripts(fathom, root, sources, env, scratch):
    """Rewrites each transcript block with its command's current output."""
    for source in sources:
        lines = source.read_text(encoding="utf-8").splitlines()
        for number, text, _ in reversed(transcripts(source)):
            done = subprocess.run([fathom] + shlex.split(text)[1:], cwd=scratch, env=env,
                                  capture_output=True, text=True, timeout=300, check=True)
            end = number
            while not lines[end].startswith("```"):
                end += 1
            lines[number:end] = done.stdout.splitlines()
        source.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main():
    fathom = os.path.abspath(sys.argv[1])
    root = pathlib.Path(sys.argv[2]).resolve()
    sources = [root / "README.md"] + sorted((root / "docs").glob("*.md"))
    if "--update-transcripts" in sys.argv:
        with tempfile.TemporaryDirectory() as scratch:
            os.symlink(root / "examples", os.path.join(scratch, "examples"))
            update_transcripts(fathom, root, sources,
                               dict(os.environ, FATHOM_DATA=str(root / "data")), scratch)
        return 0
    failures = []
    ran = skipped = 0
    with tempfile.TemporaryDirectory() as scratch:
        os.symlink(root / "examples", os.path.join(scratch, "examples"))
        env = dict(os.environ, FATHOM_DATA=str(root / "data"))
        for source in sources:
            for number, text in commands(source):
                where = f"{source.relative_to(root)}:{number}"
                words = shlex.split(text, comments=True)
                if words[1] in ("serve", "validate") or any(p in text for p in PLACEHOLDERS):
                    skipped += 1
                    continue
                start = time.monotonic()
                try:
                    done = subprocess.run([fathom] + words[1:], cwd=scratch, env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                          text=True, timeout=300)
                    rc, err = done.returncode, done.stderr
                except subprocess.TimeoutExpired:
                    rc, err = "timeout", ""
                ran += 1
                seconds = time.monotonic() - start
                print(f"{'ok  ' if rc == 0 else 'FAIL'} {seconds:6.2f} s  {where}: {text}")
                if rc != 0:
                    failures.append(f"{where}: {text}\n  exit {rc}\n  " +
                                    "\n  ".join(err.strip().splitlines()[-5:]))
        for source in sources:
            for number, text, expected in transcripts(source):
                where = f"{source.relative_to(root)}:{number}"
                words = shlex.split(text)
                done = subprocess.run([fathom] + words[1:], cwd=scratch, env=env,
                                      capture_output=True, text=True, timeout=300)
                ran += 1
                same = done.returncode == 0 and done.stdout == expected
                print(f"{'ok  ' if same else 'FAIL'} transcript  {where}: {text}")
                if not same:
                    got = done.stdout.splitlines()
                    want = expected.splitlines()
                    first = next((k for k in range(max(len(got), len(want)))
                                  if k >= len(got) or k >= len(want) or got[k] != want[k]), 0)
                    failures.append(
                        f"{where}: {text}\n  exit {done.returncode}; the output differs from the "
                        f"transcript at its line {first + 1}:\n  doc: "
                        f"{want[first] if first < len(want) else '(end)'}\n  now: "
                        f"{got[first] if first < len(got) else '(end)'}\n  update the block")
    print(f"{ran} commands run, {skipped} skipped (templates, servers, validate)")
    if failures:
        print("\nfailed:\n" + "\n".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
