"""The performance harness behind `make bench` (issue 8).

Every figure is a ratio to a floor measured in the same run, or a count: the machines
running it are shared and noisy, so absolute numbers from one run mean little alone.
`python -m benchmarks.run` writes benchmarks/RESULTS.md and benchmarks/results.json.
"""
