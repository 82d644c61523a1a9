"""The fixed vocabulary of the simulated sites: workflow, fields, users, option values."""

from dataclasses import dataclass

CATEGORIES = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}


@dataclass(frozen=True)
class Status:
    id: str
    name: str
    category: str


STATUSES = [
    Status("10000", "Open", "new"),
    Status("10001", "Scheduled", "new"),
    Status("10002", "Acknowledged", "indeterminate"),
    Status("10003", "At Listing", "indeterminate"),
    Status("10004", "Shoot Complete", "indeterminate"),
    Status("10005", "Uploaded", "indeterminate"),
    Status("10006", "Edit Start", "indeterminate"),
    Status("10007", "Final Review", "indeterminate"),
    Status("10008", "Escalated Editing", "indeterminate"),
    Status("10009", "Closed", "done"),
]
STATUS_BY_ID = {status.id: status for status in STATUSES}
# The forward path; index into STATUSES.
FORWARD = [0, 1, 2, 3, 4, 5, 6, 7, 9]
OPEN, EDIT_START, FINAL_REVIEW, ESCALATED, CLOSED = 0, 6, 7, 8, 9

ISSUE_TYPES = [("10001", "Task", False), ("10002", "Bug", False), ("10003", "Story", False)]
PRIORITIES = [("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"), ("5", "Lowest")]
RESOLUTION = {"id": "10000", "name": "Done", "description": "Work has been done on this issue."}
LABELS = ["urgent", "vip", "drone", "twilight", "reshoot", "commercial", "rural", "staging"]
COMPONENTS = [("10100", "Photography"), ("10101", "Video"), ("10102", "Floor plans"), ("10103", "Editing")]
PROPERTY_TYPES = [("10200", "House"), ("10201", "Apartment"), ("10202", "Townhouse"), ("10203", "Land")]
SERVICES = [("10210", "Photos"), ("10211", "Drone"), ("10212", "Video tour"), ("10213", "3D scan")]
REGIONS = [
    ("10220", "United States", [("10221", "Austin"), ("10222", "Denver")]),
    ("10230", "Canada", [("10231", "Toronto"), ("10232", "Vancouver")]),
]
RUSH = [("10240", "Yes"), ("10241", "No")]
STREETS = ["Maple Ave", "Oak St", "Pine Rd", "Cedar Ln", "Elm Way", "Birch Ct", "Harbor Blvd", "Hill Dr"]
ACCESS = [
    "Lockbox on the front door, code {n}.",
    "Call the agent 30 minutes before arrival.",
    "Key under the mat; alarm code {n}.",
    "Gate code {n}, park in the visitor bay.",
    "Tenant at home; ring twice.",
]
SPECIAL = [
    "Dog on premises.",
    "Shoot the garden at golden hour.",
    "Remove cars from the driveway.",
    "No drone: airport nearby.",
    "Stage the kitchen before shooting.",
]

USERS = [
    ("Ada Lovelace", "ada"),
    ("Grace Hopper", "grace"),
    ("Alan Turing", "alan"),
    ("Edsger Dijkstra", "edsger"),
    ("Barbara Liskov", "barbara"),
    ("Ken Thompson", "ken"),
    ("Margaret Hamilton", "margaret"),
    ("Donald Knuth", "donald"),
]


@dataclass(frozen=True)
class CustomField:
    id: str
    name: str
    custom_type: str  # the suffix of com.atlassian.jira.plugin.system.customfieldtypes:<type>
    schema_type: str
    items: str | None = None


_CT = "com.atlassian.jira.plugin.system.customfieldtypes:"
COMMON_FIELDS = [
    CustomField("customfield_10501", "NDPU Order Number", "textfield", "string"),
    CustomField("customfield_10020", "Sprint", "gh-sprint", "array", "json"),
    CustomField("customfield_10030", "Shoot Date", "datepicker", "date"),
    CustomField("customfield_10031", "Appointment", "datetime", "datetime"),
    CustomField("customfield_10032", "Square Feet", "float", "number"),
    CustomField("customfield_10033", "Property Type", "select", "option"),
    CustomField("customfield_10034", "Services", "multiselect", "array", "option"),
    CustomField("customfield_10035", "Region", "cascadingselect", "option-with-child"),
    CustomField("customfield_10036", "Photographer", "userpicker", "user"),
    CustomField("customfield_10037", "Reviewers", "multiuserpicker", "array", "user"),
    CustomField("customfield_10038", "Listing Tags", "labels", "array", "string"),
    CustomField("customfield_10039", "Listing URL", "url", "string"),
    CustomField("customfield_10040", "Rooms", "float", "number"),
    CustomField("customfield_10041", "Rush", "select", "option"),
]
# Instance profiles: which ids the access/special instruction fields have on each site.
PROFILE_FIELDS = {
    "instance_1": [
        CustomField("customfield_10700", "Access Instructions", "textarea", "string"),
        CustomField("customfield_11100", "Special Instructions", "textarea", "string"),
    ],
    "instance_2": [
        CustomField("customfield_12594", "Access Instructions", "textarea", "string"),
        CustomField("customfield_12595", "Special Instructions", "textarea", "string"),
        CustomField("customfield_12611", "Access Notes", "textfield", "string"),
        CustomField("customfield_12612", "Special Notes", "textfield", "string"),
    ],
    "instance_3": [
        CustomField("customfield_12611", "Access Notes", "textfield", "string"),
        CustomField("customfield_12612", "Special Notes", "textfield", "string"),
    ],
}


# Present only when their SimConfig option is on, so that default sites keep their shape.
SHOOT_BRIEF = CustomField("customfield_10042", "Shoot Brief", "textarea", "string")  # rich_adf
STATUS_LOOKALIKE = CustomField("customfield_10043", "Status", "select", "option")  # status_lookalike_fields
WORKFLOW_STATUS_LOOKALIKE = CustomField("customfield_10044", "Workflow Status", "textfield", "string")
# Options of the custom "Status" field: some share their names with workflow statuses, as they do in the wild.
LOOKALIKE_OPTIONS = [("10300", "Open"), ("10301", "Closed"), ("10302", "Final Review"), ("10303", "On Hold")]
LOOKALIKE_TEXTS = ["Closed", "In review", "Escalated Editing", "Done", "Scheduled"]


def site_custom_fields(profile: str, *, rich_adf: bool = False, status_lookalikes: bool = False) -> list[CustomField]:
    """Every custom field of a site: the common ones, the profile's, and those its options add."""
    fields = COMMON_FIELDS + PROFILE_FIELDS[profile]
    if rich_adf:
        fields = [*fields, SHOOT_BRIEF]
    if status_lookalikes:
        fields = [*fields, STATUS_LOOKALIKE, WORKFLOW_STATUS_LOOKALIKE]
    return fields


def custom_type_key(field: CustomField) -> str:
    if field.custom_type.startswith("gh-"):
        return f"com.pyxis.greenhopper.jira:{field.custom_type}"
    return _CT + field.custom_type


SYSTEM_FIELDS = [
    ("summary", "Summary", {"type": "string", "system": "summary"}),
    ("description", "Description", {"type": "string", "system": "description"}),
    ("status", "Status", {"type": "status", "system": "status"}),
    ("issuetype", "Issue Type", {"type": "issuetype", "system": "issuetype"}),
    ("priority", "Priority", {"type": "priority", "system": "priority"}),
    ("assignee", "Assignee", {"type": "user", "system": "assignee"}),
    ("reporter", "Reporter", {"type": "user", "system": "reporter"}),
    ("creator", "Creator", {"type": "user", "system": "creator"}),
    ("labels", "Labels", {"type": "array", "items": "string", "system": "labels"}),
    ("components", "Components", {"type": "array", "items": "component", "system": "components"}),
    ("created", "Created", {"type": "datetime", "system": "created"}),
    ("updated", "Updated", {"type": "datetime", "system": "updated"}),
    ("resolution", "Resolution", {"type": "resolution", "system": "resolution"}),
    ("resolutiondate", "Resolved", {"type": "datetime", "system": "resolutiondate"}),
    ("project", "Project", {"type": "project", "system": "project"}),
    ("duedate", "Due date", {"type": "date", "system": "duedate"}),
    ("statuscategorychangedate", "Status Category Changed", {"type": "datetime", "system": "statuscategorychangedate"}),
    ("comment", "Comment", {"type": "comments-page", "system": "comment"}),
    ("worklog", "Log Work", {"type": "array", "items": "worklog", "system": "worklog"}),
]
