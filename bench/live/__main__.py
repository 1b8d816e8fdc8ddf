from bench.live.run import cli

cli()
