"""The exporter's application layer: requests (accepted, read, linked, deleted), running an
export (`running`, over the datasets' rows in `datasets`), and sweeping."""
