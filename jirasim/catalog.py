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
    CustomField("customfield_10045", "Parent Link", "jpo-custom-field-parent", "any"),
    CustomField("customfield_10046", "Listing Team", "grouppicker", "group"),
]
# Advanced Roadmaps' Parent Link on a site without it: a placeholder object in every issue.
PARENT_LINK_PLACEHOLDER = {
    "hasEpicLinkFieldDependency": False,
    "showField": False,
    "nonEditableReason": {
        "reason": "PLUGIN_LICENSE_ERROR",
        "message": "The Parent Link is only available to Jira Premium users.",
    },
}
TEAM_GROUPS = ["photographers", "editors", "drone-pilots"]
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


# Data Center's epic of an issue (Cloud names it in `parent`): the epic's key, a plain string.
EPIC_LINK = CustomField("customfield_10101", "Epic Link", "gh-epic-link", "any")
# Present only when their SimConfig option is on, so that default sites keep their shape.
SHOOT_BRIEF = CustomField("customfield_10042", "Shoot Brief", "textarea", "string")  # rich_adf
STATUS_LOOKALIKE = CustomField("customfield_10043", "Status", "select", "option")  # status_lookalike_fields
WORKFLOW_STATUS_LOOKALIKE = CustomField("customfield_10044", "Workflow Status", "textfield", "string")
# Options of the custom "Status" field: some share their names with workflow statuses, as they do in the wild.
LOOKALIKE_OPTIONS = [("10300", "Open"), ("10301", "Closed"), ("10302", "Final Review"), ("10303", "On Hold")]
LOOKALIKE_TEXTS = ["Closed", "In review", "Escalated Editing", "Done", "Scheduled"]


def site_custom_fields(
    profile: str, *, rich_adf: bool = False, status_lookalikes: bool = False, cloud: bool = True
) -> list[CustomField]:
    """Every custom field of a site: the common ones, the profile's, Data Center's Epic Link, and those its
    options add."""
    fields = COMMON_FIELDS + PROFILE_FIELDS[profile] + ([] if cloud else [EPIC_LINK])
    if rich_adf:
        fields = [*fields, SHOOT_BRIEF]
    if status_lookalikes:
        fields = [*fields, STATUS_LOOKALIKE, WORKFLOW_STATUS_LOOKALIKE]
    return fields


def custom_type_key(field: CustomField) -> str:
    if field.custom_type.startswith("gh-"):
        return f"com.pyxis.greenhopper.jira:{field.custom_type}"
    if field.custom_type.startswith("jpo-"):
        return f"com.atlassian.jpo:{field.custom_type}"
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
    ("attachment", "Attachment", {"type": "array", "items": "attachment", "system": "attachment"}),
    ("issuelinks", "Linked Issues", {"type": "array", "items": "issuelinks", "system": "issuelinks"}),
    ("fixVersions", "Fix versions", {"type": "array", "items": "version", "system": "fixVersions"}),
    ("versions", "Affects versions", {"type": "array", "items": "version", "system": "versions"}),
    ("parent", "Parent", None),
    ("subtasks", "Sub-tasks", {"type": "array", "items": "issuelinks", "system": "subtasks"}),
    ("environment", "Environment", {"type": "string", "system": "environment"}),
    ("timetracking", "Time tracking", {"type": "timetracking", "system": "timetracking"}),
    ("timeoriginalestimate", "Original estimate", {"type": "number", "system": "timeoriginalestimate"}),
    ("timeestimate", "Remaining Estimate", {"type": "number", "system": "timeestimate"}),
    ("timespent", "Time Spent", {"type": "number", "system": "timespent"}),
    (
        "aggregatetimeoriginalestimate",
        "Σ Original Estimate",
        {"type": "number", "system": "aggregatetimeoriginalestimate"},
    ),
    ("aggregatetimeestimate", "Σ Remaining Estimate", {"type": "number", "system": "aggregatetimeestimate"}),
    ("aggregatetimespent", "Σ Time Spent", {"type": "number", "system": "aggregatetimespent"}),
    ("progress", "Progress", {"type": "progress", "system": "progress"}),
    ("aggregateprogress", "Σ Progress", {"type": "progress", "system": "aggregateprogress"}),
    ("workratio", "Work Ratio", {"type": "number", "system": "workratio"}),
    ("votes", "Votes", {"type": "votes", "system": "votes"}),
    ("watches", "Watchers", {"type": "watches", "system": "watches"}),
    ("lastViewed", "Last Viewed", {"type": "datetime", "system": "lastViewed"}),
    ("security", "Security Level", {"type": "securitylevel", "system": "security"}),
]


# --- what people do on issues besides the workflow (jirasim.activity) ---------------------------
EPIC_TYPE = ("10000", "Epic", False)
SUBTASK_TYPE = ("10004", "Sub-task", True)
HIERARCHY = {"10000": 1, "10004": -1}  # issue type id -> hierarchyLevel (others: 0)
# (id, name, inward, outward)
LINK_TYPES = [
    ("10000", "Blocks", "is blocked by", "blocks"),
    ("10001", "Cloners", "is cloned by", "clones"),
    ("10002", "Duplicate", "is duplicated by", "duplicates"),
    ("10003", "Relates", "relates to", "relates to"),
]
# A project's versions: (name, released, release day offset from the site's start); ids per project.
VERSIONS = [("1.0", True, -150), ("1.1", True, -90), ("1.2", True, -30), ("2.0", False, 30), ("2.1", False, 90)]
COMPONENT_DESCRIPTIONS = {"10100": "Stills and twilight shots", "10102": "Measured plans"}
COMMENT_TEXTS = [
    "Agent confirmed the slot for Tuesday morning.",
    "Photos uploaded, 32 selected for the listing.",
    "Client asked for a reshoot of the kitchen.",
    "Access code did not work; called the agent.",
    "Edits delivered, waiting for review.",
    "Drone shots cancelled: wind above 40 km/h.",
    "Moved to Friday at the owner's request.",
]
WORKLOG_TEXTS = ["On site", "Editing", "Travel", "Upload and culling", "Floor plan drawing", ""]
ATTACHMENTS = [("floorplan.pdf", "application/pdf"), ("front.jpg", "image/jpeg"), ("notes.txt", "text/plain")]
ENVIRONMENTS = ["Camera: Sony A7 IV, 16-35 mm", "Drone: DJI Mavic 3", "Phone app 4.2 on iOS"]
