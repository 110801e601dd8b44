"""Vocabulary for the demo company: names of companies, people, places and plans."""

ADJECTIVES = (
    "north blue bright silver green red iron golden clear swift rapid quiet bold true prime "
    "summit harbor cedar maple oak pine river lake stone cloud sun star moon polar coastal "
    "urban alpine crystal amber coral jade ivory onyx scarlet azure cobalt copper granite "
    "ember frost meadow prairie canyon delta echo lunar solar vivid lucky noble royal "
    "first apex vertex pinnacle horizon pioneer frontier atlas orbit nova zenith vector "
    "quantum fusion hyper omni metro civic grand little big new old east west south"
).split()

NOUNS = (
    "wind peak field bridge gate path works labs forge point wave line spark leaf rock "
    "ridge bay port shore crest hill vale grove brook falls trail mark core hub base "
    "nest loop grid link mesh stack flow beam arc key way view scope sight mind craft "
    "worx logic metrics bit byte data cloud signal pulse tide root seed bloom sprout "
    "harvest market trade cart shelf box crate ship fleet wing rail road route lane"
).split()

KINDS = (
    "Analytics|Logistics|Health|Foods|Systems|Software|Labs|Media|Energy|Capital|Retail|"
    "Robotics|Learning|Travel|Networks|Security|Studios|Partners|Consulting|Manufacturing|"
    "Pharma|Insurance|Realty|Motors|Apparel|Outdoors|Games|Biotech|Payments|Foods Co"
).split("|")

SUFFIXES = ("Inc", "LLC", "Ltd", "GmbH", "Corp", "Co", "", "", "", "")

FIRST = (
    "james mary john patricia robert jennifer michael linda william elizabeth david barbara "
    "richard susan joseph jessica thomas sarah charles karen chris nancy daniel lisa matthew "
    "betty anthony margaret mark sandra donald ashley steven kimberly paul emily andrew donna "
    "joshua michelle kenneth carol kevin amanda brian melissa george deborah timothy stephanie "
    "ronald rebecca jason sharon edward laura jeffrey cynthia ryan kathleen jacob amy gary "
    "angela nicholas shirley eric anna jonathan brenda stephen pamela larry emma justin nicole "
    "scott helen brandon samantha benjamin katherine samuel christine raymond debra gregory "
    "rachel frank carolyn alexander janet patrick catherine jack maria dennis heather jerry "
    "diane tyler ruth aaron julie jose olivia adam joyce nathan virginia henry victoria "
    "priya arjun wei mei hiroshi yuki lars ingrid pierre amelie luca giulia sofia mateo "
    "fatima omar aisha kwame chidi olga ivan nina pavel sven freya diego lucia raj ananya"
).split()

LAST = (
    "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez "
    "lopez gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson "
    "white harris sanchez clark ramirez lewis robinson walker young allen king wright scott "
    "torres nguyen hill flores green adams nelson baker hall rivera campbell mitchell carter "
    "roberts gomez phillips evans turner diaz parker cruz edwards collins reyes stewart "
    "morris morales murphy cook rogers gutierrez ortiz morgan cooper peterson bailey reed "
    "kelly howard ramos kim cox ward richardson watson brooks chavez wood james bennett gray "
    "mendoza ruiz hughes price alvarez castillo sanders patel myers long ross foster jimenez "
    "mueller schmidt schneider fischer weber meyer wagner becker rossi russo ferrari bianchi "
    "dubois laurent moreau tanaka suzuki sato chen wang zhang singh kumar sharma okafor "
    "mensah novak kowalski nielsen larsen johansson silva santos costa oliveira"
).split()

SEGMENTS = ("smb", "mid_market", "enterprise")
SEGMENT_SHARE = (0.6, 0.3, 0.1)
SEGMENT_LABEL = {"smb": "SMB", "mid_market": "Mid-Market", "enterprise": "Enterprise"}

REGIONS = ("north_america", "emea", "apac", "latam")
REGION_SHARE = (0.45, 0.30, 0.15, 0.10)
REGION_LABEL = {"north_america": "North America", "emea": "EMEA", "apac": "APAC", "latam": "LATAM"}

INDUSTRIES = (
    "software", "retail", "healthcare", "financial_services", "manufacturing", "education",
    "media", "logistics", "hospitality", "professional_services", "nonprofit", "energy",
)

PLANS = ("starter", "growth", "enterprise")
PRICE_PER_SEAT = (12.0, 29.0, 55.0)

OWNERS = tuple(
    f"{f.title()} {x.title()}"
    for f, x in zip(FIRST[100:140], LAST[60:100], strict=True)
)

ROLES = ("admin", "champion", "economic_buyer", "user", "it_contact")

FEATURES = ("dashboards", "reports", "alerts", "integrations", "api")
FEATURE_PROPENSITY = (0.9, 0.7, 0.45, 0.35, 0.25)

TICKET_CHANNELS = ("email", "chat", "web", "phone")
TICKET_CHANNEL_SHARE = (0.45, 0.3, 0.15, 0.1)
PRIORITIES = ("low", "normal", "high", "urgent")
