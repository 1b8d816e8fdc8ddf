"""The demo fixture shop: a deterministic catalogue site on loopback for tests, benchmarks and
`trawl up`'s demo report (see trawl.demo.fixture_site)."""
