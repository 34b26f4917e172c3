"""The extractor's application layer: what it does, each use case in its own module.

`intake` takes in a stored page or upload (inside the consumer's unit of work); `indexing`
embeds waiting chunks and announces them; `deletion` drives a deleted run out of every store;
`search` answers hybrid queries; `reconcile` compares and repairs Postgres, Qdrant and S3.
Handlers, workers, the HTTP route and `trawl reconcile` call these and nothing deeper.
"""
