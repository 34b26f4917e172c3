from services.crawler.app import SPEC
from shared.service import main

main(SPEC)
