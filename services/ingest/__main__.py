from services.ingest.app import SPEC
from shared.service import main

main(SPEC)
