"""Component ids of the dashboard: one constant each, shared by layouts, callbacks and tests."""

# shell
URL = "url"
FILTERS = "filters"
NAV = "nav"
PRESET = "filter-preset"
DATES = "filter-dates"
TEAM = "filter-team"
REGION = "filter-region"
LANGUAGE = "filter-language"
ROOT_CAUSE = "filter-root-cause"
CLEAR = "filter-clear"

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
ENGINEER_MESSAGE = "engineer-message"
DRILL = "drill-location"

# engineer (Compare History)
HISTORY_PERIOD = "history-period"
HISTORY_CODE = "history-code"
HISTORY_KPIS = "history-kpis"
HISTORY_TIMELINE = "history-timeline"
HISTORY_MIX = "history-mix"
HISTORY_TEXT = "history-text"
HISTORY_ALERTS = "history-alerts"
HISTORY_MESSAGE = "history-message"

# alerts
ALERT_STATUS = "alert-status"
ALERT_GRID = "alert-grid"
ALERT_ACK = "alert-ack"
ALERT_RESOLVE = "alert-resolve"
ALERT_DETAIL = "alert-detail"
ALERT_MESSAGE = "alert-message"
ALERT_EXPORT = "alert-export"
ALERT_REFRESH = "alert-refresh"

# data
EXPORT_FORMAT = "export-format"
EXPORT_LINK = "export-link"
IMPORT_UPLOAD = "import-upload"
IMPORT_FILE = "import-file"
IMPORT_PREVIEW = "import-preview"
IMPORT_COMMIT = "import-commit"
IMPORT_REPORT = "import-report"
