-- Search shows each URL once, in its latest version: found by URL, newest first.
CREATE INDEX documents_latest_url_idx ON documents (tenant_id, url, created_at DESC)
    WHERE status = 'indexed' AND url IS NOT NULL;
