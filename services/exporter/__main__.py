from services.exporter.app import SPEC
from shared.service import main

main(SPEC)
