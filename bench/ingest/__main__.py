from bench.ingest.run import cli

cli()
