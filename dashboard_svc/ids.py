"""Component ids of the dashboard: one constant each, shared by layouts, callbacks and tests."""

# shell
URL = "url"
FILTERS = "filters"
ROSTER = "roster"  # the private roster: browser local storage only, read by clientside code only
NAV = "nav"
NAV_LINK = "nav-link"  # pattern id {"type": NAV_LINK, "index": path}
NAV_TOGGLE = "nav-toggle"
NAV_COLLAPSE = "nav-collapse"
FILTER_BAR = "filter-bar"
FILTER_FIELD = "filter-field"  # pattern id {"type": FILTER_FIELD, "index": filter key}
PAGE_FILTERS = "page-filters"
PRESET = "filter-preset"
DATES = "filter-dates"
TEAM = "filter-team"
REGION = "filter-region"
LANGUAGE = "filter-language"
ROOT_CAUSE = "filter-root-cause"
CLEAR = "filter-clear"
FILTER_NOTE = "filter-note"

# overview
KPI_SESSIONS = "kpi-sessions"
KPI_SENTIMENT = "kpi-sentiment"
KPI_CONFIDENCE = "kpi-confidence"
KPI_ALERTS = "kpi-alerts"
WEEKLY_CHART = "weekly-chart"
OVERVIEW_MESSAGE = "overview-message"

# root causes
CAUSE_AREA = "cause-area"
CAUSE_TABLE = "cause-table"
CAUSE_MESSAGE = "cause-message"

# languages and regions
LANGUAGE_CHART = "language-chart"
REGION_CHART = "region-chart"
LANGUAGE_MESSAGE = "language-message"

# engineers
FIND_NAME = "find-name"
FIND_BUTTON = "find-button"
FIND_MESSAGE = "find-message"
ENGINEER_GRID = "engineer-grid"
ENGINEER_ROWS = "engineer-rows"
ENGINEER_MESSAGE = "engineer-message"
DRILL = "drill-location"

# engineer (Compare History)
HISTORY_CODE = "history-code"
HISTORY_NAME = "history-name"
HISTORY_PERIOD_NOTE = "history-period-note"
HISTORY_KPIS = "history-kpis"
HISTORY_TIMELINE = "history-timeline"
HISTORY_MIX = "history-mix"
HISTORY_TEXT = "history-text"
HISTORY_ALERTS = "history-alerts"
HISTORY_MESSAGE = "history-message"

# alerts
ALERT_STATUS = "alert-status"
ALERT_GRID = "alert-grid"
ALERT_ROWS = "alert-rows"
ALERT_SELECTED = "alert-selected"
ALERT_RESULT = "alert-result"
ALERT_ACK = "alert-ack"
ALERT_RESOLVE = "alert-resolve"
ALERT_DETAIL = "alert-detail"
ALERT_DETAIL_TITLE = "alert-detail-title"
ALERT_DETAIL_TEXT = "alert-detail-text"
ALERT_MESSAGE = "alert-message"
ALERT_CONFIRMATION = "alert-confirmation"
ALERT_CAPTION = "alert-caption"
ALERT_EXPORT = "alert-export"
ALERT_REFRESH = "alert-refresh"

# roster
ROSTER_TEXT = "roster-text"
ROSTER_UPLOAD = "roster-upload"
ROSTER_ADD = "roster-add"
ROSTER_CLEAR = "roster-clear"
ROSTER_STATUS = "roster-status"
ROSTER_GRID = "roster-grid"

# data
EXPORT_FORMAT = "export-format"
EXPORT_LINK = "export-link"
IMPORT_UPLOAD = "import-upload"
IMPORT_FILE = "import-file"
IMPORT_PREVIEW = "import-preview"
IMPORT_COMMIT = "import-commit"
IMPORT_REPORT = "import-report"
