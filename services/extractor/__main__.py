from services.extractor.app import SPEC
from shared.service import main

main(SPEC)
