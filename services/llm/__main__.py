from services.llm.app import SPEC
from shared.service import main

main(SPEC)
