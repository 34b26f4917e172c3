# ruff: noqa: E501  (prose: sentences are kept whole so they can be searched for)
"""The text of the demo website (a harbour cooperative's site), written for Trawl's main job.

`generate.py` turns it into static pages under `site/`; the end-to-end test searches for
sentences from here, so change them together.
"""

from __future__ import annotations

SITE_NAME = "Saltmarsh Harbour Cooperative"

# (slug, title, date, paragraphs)
ARTICLES: list[tuple[str, str, str, list[str]]] = [
    (
        "lighthouse-keeper",
        "The Keeper of the Saltmarsh Light",
        "2024-03-02",
        [
            "Before the light was automated in 1989, one family kept it burning. Agnes Morrow took over the "
            "tower from her father and climbed its ninety-two steps at dusk, winter and summer alike.",
            "The Saltmarsh lighthouse keeper lit the lamp every night for forty-one years without missing a "
            "single evening. Even during the great storm of 1962, when the harbour wall gave way, the beam "
            "swept the bay on time.",
            "Her logbooks, now kept in the cooperative's reading room, record wind, visibility and every "
            "vessel that passed the point. Fishermen still say they can tell the old lamp from the new one "
            "by its warmer colour.",
        ],
    ),
    (
        "reading-the-tides",
        "Reading the Tides Without a Table",
        "2024-03-16",
        [
            "The tide along our coast turns roughly every six hours and twelve minutes, so high water comes "
            "about fifty minutes later each day. Spring tides follow the new and full moon; neap tides come "
            "with the quarter moons.",
            "Old hands watch the weed on the harbour steps: when the green line is covered, there is enough "
            "water to float a loaded boat over the bar. A falling tide against a westerly wind raises a "
            "short, steep chop at the harbour mouth.",
            "Tables are still the safest guide. The cooperative posts the week's tide times on the board by "
            "the fish market every Monday morning.",
        ],
    ),
    (
        "mending-nets",
        "Mending Nets by Hand",
        "2024-04-01",
        [
            "A torn trawl net loses fish and drags unevenly. Menders work with a wooden netting needle loaded "
            "with twine and a gauge that keeps every new mesh the same size as the old.",
            "The sheet bend, tied over and over, is the knot of the trade. A skilled mender closes a hole the "
            "size of a door in under an hour, cutting the torn meshes back to clean knots before starting.",
            "Every Thursday evening the net loft opens for apprentices, and retired skippers teach the craft "
            "to anyone who brings their own needle.",
        ],
    ),
    (
        "oyster-beds",
        "Bringing Back the Oyster Beds",
        "2024-04-20",
        [
            "Native oysters once carpeted the estuary. Overfishing and disease reduced them to a few scattered "
            "clumps by the 1970s, and for decades the beds were left alone.",
            "Since 2019 volunteers have laid recycled shell as cultch, the hard ground young oysters need to "
            "settle on. Divers counted eleven thousand juvenile oysters on the new reef last autumn.",
            "A single adult oyster filters up to two hundred litres of water a day, so the restored beds are "
            "also clearing the water for seagrass.",
        ],
    ),
    (
        "weather-signs",
        "Weather Signs Every Skipper Knows",
        "2024-05-05",
        [
            "Mackerel skies and mares' tails make tall ships take in sails: high, streaky cirrus often comes a "
            "day ahead of a front and its rain.",
            "A ring around the moon means ice crystals in thin high cloud, another sign of a front on its way. "
            "Gulls sitting on the sand and refusing to fly are said to feel the falling pressure.",
            "No saying replaces the shipping forecast. Skippers of the cooperative check it at dawn and keep "
            "the VHF radio on channel sixteen while at sea.",
        ],
    ),
    (
        "fish-market",
        "A Morning at the Fish Market",
        "2024-05-18",
        [
            "The auction starts at half past five. Boxes of plaice, cod, gurnard and crab are laid out on ice "
            "in numbered lots, and buyers walk the rows with torches before the bell.",
            "Prices are called in a falling Dutch auction: the auctioneer starts high and drops until a buyer "
            "shouts. The whole market is usually sold within forty minutes.",
            "Every box carries a label with the boat, the fishing area and the time of landing, so a fish on "
            "a restaurant plate can be traced back to the crew that caught it.",
        ],
    ),
    (
        "wooden-boats",
        "Caring for a Wooden Boat",
        "2024-06-02",
        [
            "Clinker-built boats are planked with overlapping strakes fastened with copper rivets. Kept wet, "
            "the planks swell and the hull stays tight; left to dry on a hard, they open and leak.",
            "Each spring the cooperative's yard scrapes, sands and paints the hulls with antifouling below "
            "the waterline and two coats of varnish on the brightwork above.",
            "Soft spots in the timber are found by tapping with a small hammer: sound wood rings, rotten wood "
            "answers with a dull thud.",
        ],
    ),
    (
        "seaweed-harvest",
        "The Seaweed Harvest",
        "2024-06-21",
        [
            "Kelp, dulse and sugar kelp are cut by hand at the lowest spring tides, leaving the holdfast on the "
            "rock so the plant can grow back within a season.",
            "Harvested seaweed is rinsed in sea water and dried on racks in the sun and wind. Dried dulse keeps "
            "for a year and is sold in the cooperative shop.",
            "Farmers have spread seaweed on their fields for centuries; it adds potassium and trace minerals "
            "and breaks down quickly in the soil.",
        ],
    ),
    (
        "safety-at-sea",
        "Safety at Sea: the Cooperative's Rules",
        "2024-07-08",
        [
            "Every crew member wears an automatic lifejacket on deck, whatever the weather. Lifejackets are "
            "serviced once a year and their gas cylinders checked before each season.",
            "Boats carry flares, a grab bag with a handheld radio, and a personal locator beacon for each "
            "person aboard. Skippers file a passage plan with the harbour office before leaving.",
            "The harbour holds a man-overboard drill every month; crews practise recovering a weighted dummy "
            "in under five minutes.",
        ],
    ),
    (
        "harbour-history",
        "Three Centuries of Saltmarsh Harbour",
        "2024-07-25",
        [
            "The first stone pier was built in 1731 by a merchant who shipped salt and wool to the Low "
            "Countries. The harbour takes its name from the salt pans that once lined the marsh behind it.",
            "The railway arrived in 1868, and with it the herring boom: at its height two hundred drifters "
            "worked from the harbour and fish trains left for the city every night.",
            "When the herring vanished in the 1950s, the fleet turned to crab, lobster and mixed trawling, "
            "and in 1976 the remaining skippers founded the cooperative.",
        ],
    ),
    (
        "lobster-pots",
        "How Lobster Pots Work",
        "2024-08-10",
        [
            "A lobster pot is a baited trap with a funnel entrance: easy to find the way in, hard to find the "
            "way out. Pots are laid in strings of twenty along rocky ground and hauled every two days.",
            "Lobsters under the minimum landing size, and females carrying eggs, go back into the sea. Berried "
            "females have a small V notched in their tail so they are protected for years.",
            "Escape gaps in every pot let undersized lobsters and crabs leave on their own.",
        ],
    ),
    (
        "knots-for-sailors",
        "Six Knots Worth Learning",
        "2024-08-28",
        [
            "The bowline makes a fixed loop that will not slip or jam and can be untied after holding a heavy "
            "load. The clove hitch secures a line to a post quickly.",
            "A round turn and two half hitches holds a mooring line to a ring; the figure-eight stops a rope "
            "running out through a block; the reef knot joins two ends of the same line.",
            "The rolling hitch grips a rope or spar lengthwise, which makes it the knot for taking the strain "
            "off a jammed winch.",
        ],
    ),
    (
        "harbour-seals",
        "Seals in the Harbour",
        "2024-09-14",
        [
            "A colony of grey seals hauls out on the sandbank at low tide. Pups are born in late autumn with "
            "white coats and stay on land for about three weeks.",
            "Visitors are asked to keep at least fifty metres away and never to feed the seals; a seal that "
            "learns to beg at the quay is soon in danger from propellers.",
            "The cooperative counts the colony each September together with the county wildlife trust.",
        ],
    ),
    (
        "winter-storms",
        "When the Winter Storms Come",
        "2024-11-30",
        [
            "Gales from the north-east drive the sea straight into the harbour mouth. Boats are doubled up on "
            "their moorings, and the smaller ones are hauled out onto the hard.",
            "The flood gates in the harbour wall are closed when a surge of more than a metre is forecast. "
            "Sandbags are stacked by the fish market doors.",
            "After a storm the whole cooperative walks the shore to pick up lost gear and plastic before the "
            "next tide carries it away.",
        ],
    ),
]

# (slug, name, price in euros, sku, description)
PRODUCTS: list[tuple[str, str, float, str, str]] = [
    (
        "storm-lantern",
        "Storm Lantern",
        39.50,
        "SH-LAN-01",
        "A galvanised paraffin lantern that stays lit in a gale.",
    ),
    (
        "led-deck-lantern",
        "Waterproof LED Deck Lantern",
        54.00,
        "SH-LAN-02",
        "Rechargeable, IP68 waterproof, twelve hours on one charge.",
    ),
    (
        "mooring-line",
        "Braided Mooring Line, 12 mm x 15 m",
        48.90,
        "SH-ROP-12",
        "Polyester double braid with a spliced eye.",
    ),
    (
        "manila-rope",
        "Manila Rope, 20 m",
        32.00,
        "SH-ROP-20",
        "Natural fibre rope for traditional boats and decoration.",
    ),
    (
        "netting-needle",
        "Wooden Netting Needle Set",
        14.50,
        "SH-NET-03",
        "Three beech needles and two mesh gauges for mending nets.",
    ),
    (
        "fishermans-smock",
        "Fisherman's Smock",
        65.00,
        "SH-CLO-07",
        "Heavy cotton canvas smock, waxed against spray.",
    ),
    (
        "oilskin-jacket",
        "Oilskin Jacket",
        119.00,
        "SH-CLO-08",
        "Breathable waterproof jacket with a high collar and reflective patches.",
    ),
    ("sea-boots", "Sea Boots", 79.00, "SH-CLO-11", "Non-slip rubber boots lined with neoprene."),
    (
        "buoy-orange",
        "Orange Mooring Buoy, 40 cm",
        29.90,
        "SH-BUO-40",
        "Inflatable PVC buoy with a reinforced eye.",
    ),
    (
        "brass-compass",
        "Brass Hand Compass",
        45.00,
        "SH-NAV-02",
        "Liquid-damped compass in a brass case with a lanyard.",
    ),
    (
        "tide-clock",
        "Tide Clock",
        58.00,
        "SH-NAV-05",
        "Shows the state of the tide at a glance; runs a year on one AA cell.",
    ),
    (
        "dried-dulse",
        "Dried Dulse, 100 g",
        6.80,
        "SH-FOO-01",
        "Hand-harvested seaweed from Saltmarsh bay, sun dried.",
    ),
]

PDF_TITLE = "Harbour Safety Guide"
PDF_FILE = "harbour-safety-guide.pdf"
PDF_PARAGRAPHS = [
    "This guide sets out what every crew of the Saltmarsh Harbour Cooperative must do before and during a "
    "trip to sea.",
    "Man overboard: shout and point, throw the horseshoe buoy, press the MOB button on the plotter, and keep "
    "one person pointing at the casualty until they are back aboard.",
    "Fire: shut off the fuel, close the engine room, and use the extinguisher at the base of the flames. "
    "Call the coastguard on channel sixteen before the fire spreads.",
    "Abandoning ship is the last resort: step up into the liferaft, never down, and take the grab bag and "
    "the personal locator beacons.",
    "Every skipper signs this guide at the start of each season, and new crew members read it with the "
    "harbour master before their first trip.",
]
