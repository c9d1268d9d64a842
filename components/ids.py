"""Every Dash component id used across pages and callbacks."""
from __future__ import annotations

# Shell: navbar and programmatic navigation
NAV_LOCATION = "nav-location"  # written by callbacks to move to another page (refresh="callback-nav")
NAV_PROJECT_SWITCH = "nav-project-switch"
NAV_SEARCH = "nav-search"
NAV_SEARCH_RESULTS = "nav-search-results"
NAV_USER_MENU = "nav-user-menu"
NAV_USER_NAME = "nav-user-name"
NAV_PATH = "nav-path"  # a Location read by the navbar to know the current page
NAV_CURRENT_PROJECT = "nav-current-project"  # the project the shown page belongs to

# Project browser (/projects)
PROJECTS_QUERY = "projects-query"
PROJECTS_URL = "projects-url"  # keeps filters in the address bar (refresh=False)
PROJECTS_TEAM = "projects-team"
PROJECTS_TAG = "projects-tag"
PROJECTS_GRID = "projects-grid"
PROJECTS_CONTENT = "projects-content"
PROJECTS_COUNT = "projects-count"
PROJECTS_NEW = "projects-new"
NEW_PROJECT_MODAL = "new-project-modal"
NEW_PROJECT_NAME = "new-project-name"
NEW_PROJECT_TEAM = "new-project-team"
NEW_PROJECT_DESCRIPTION = "new-project-description"
NEW_PROJECT_TAGS = "new-project-tags"
NEW_PROJECT_SUBMIT = "new-project-submit"
NEW_PROJECT_CANCEL = "new-project-cancel"
NEW_PROJECT_ERROR = "new-project-error"

# Project page (/projects/<id>)
PROJECT_ID = "project-id"
PROJECT_CONTENT = "project-content"
PROJECT_GRID = "project-experiments-grid"
PROJECT_NEW_EXPERIMENT = "project-new-experiment"
NEW_EXPERIMENT_MODAL = "new-experiment-modal"
NEW_EXPERIMENT_NAME = "new-experiment-name"
NEW_EXPERIMENT_DESCRIPTION = "new-experiment-description"
NEW_EXPERIMENT_HYPOTHESIS = "new-experiment-hypothesis"
NEW_EXPERIMENT_TAGS = "new-experiment-tags"
NEW_EXPERIMENT_SUBMIT = "new-experiment-submit"
NEW_EXPERIMENT_CANCEL = "new-experiment-cancel"
NEW_EXPERIMENT_ERROR = "new-experiment-error"

# Experiment page (/experiments/<id>): the run table
EXP_ID = "exp-id"
EXP_URL = "exp-url"  # keeps sort, filter and selection in the address bar (refresh=False)
EXP_CONTENT = "exp-content"
EXP_TICK = "exp-tick"
EXP_SEEN = "exp-seen-version"
EXP_COLUMNS = "exp-columns"  # the discovered param/metric keys the grid was built with
EXP_HIDDEN = "exp-hidden"  # the run table's hidden columns ("user", "p:<param>", "m:<metric>"), ?hide= in the URL
RUN_COLUMNS_BUTTON = "run-columns-button"  # "Columns (12 of 30)": opens the column chooser
RUN_COLUMNS_FILTER = "run-columns-filter"  # narrows the chooser's lists by name
RUN_COLUMNS_ATTRS = "run-columns-attrs"  # the chooser's checklists: checked = shown
RUN_COLUMNS_PARAMS = "run-columns-params"
RUN_COLUMNS_METRICS = "run-columns-metrics"
RUN_COLUMNS_ALL = "run-columns-all"
RUN_COLUMNS_NONE = "run-columns-none"
RUN_GRID = "run-grid"
RUN_AGGREGATES = "run-aggregates"
RUN_SELECTION = "run-selection"
RUN_COUNT = "run-count"
RUN_TOP_LEVEL = "run-top-level"  # switch: leave child runs out of the table
RUN_FIRST_BLOCK = "run-first-block"  # the first rows, computed with the page: no round trip after the grid mounts
RUN_ROWS_REQUEST = "run-rows-request"  # the grid's row requests the first block cannot answer, for the server

# Run page (/runs/<id>): summary, metric charts, notes
RUN_ID = "run-id"
RUN_URL = "run-url"  # keeps the chosen metric keys in the address bar (refresh=False)
RUN_CONTENT = "run-content"
RUN_TICK = "run-tick"
RUN_SEEN = "run-seen-version"
RUN_PANELS = "run-panels-version"  # RUN_SEEN, passed on once the charts are drawn
RUN_VERSION = "run-live-version"  # written by the cheap tick poll; redraws follow it
RUN_METRIC_KEYS = "run-metric-keys"
RUN_CHARTS = "run-charts"
RUN_METRIC_TABLE = "run-metric-table"
RUN_NOTES = "run-notes"
NOTE_BODY = "note-body"
NOTE_METRIC = "note-metric"
NOTE_STEP = "note-step"
NOTE_SUBMIT = "note-submit"
NOTE_ERROR = "note-error"
RUN_TAGS = "run-tags"  # the tags card (and its editor, for editors)
RUN_ARTIFACTS = "run-artifacts"  # artifact list with previews
RUN_COST = "run-cost"  # resource usage and cost card
RUN_FEATURES = "run-features"  # feature usage card (sets and importance)
RUN_FEATURE_SETS = "run-feature-sets"
RUN_FEATURE_CHART = "run-feature-chart"

# Run page: chart options (x axis, log-y, smoothing)
RUN_CHART_OPTIONS = "run-chart-options"  # the options row above the charts
RUN_X_AXIS = "run-x-axis"  # step | wall | relative
RUN_LOG_Y = "run-log-y"
RUN_SMOOTH = "run-smooth"  # EMA weight 0–0.99
RUN_SMOOTH_LABEL = "run-smooth-label"  # "Smoothing 0.60", follows the slider as it is dragged
RUN_PER_ROW = "run-per-row"  # 1 or 2 charts per row
RUN_START_MS = "run-start-ms"  # the run's start (ms), the origin of relative time

# Run page: artifacts and tag editing
ART_PANEL = "art-panel"  # the artifacts card (rendered once into RUN_ARTIFACTS)
ART_LIST = "art-list"
ART_LIMIT = "art-limit"  # how many artifacts the list shows (grows by "Show more")
ART_MORE = "art-more"
ART_PICK = "art-pick"  # pattern-matching: {"type": ART_PICK, "id": artifact_id}
ART_SELECTED = "art-selected"  # the previewed artifact id (mirrored in the address bar's #artifact=…)
ART_PREVIEW = "art-preview"
TAG_VIEW = "tag-view"  # the read-only tags card
TAG_EDIT = "tag-edit"
TAG_EDITOR = "tag-editor"
TAG_VALUE = "tag-value"  # pattern-matching: {"type": TAG_VALUE, "key": tag_key}
TAG_REMOVE = "tag-remove"  # pattern-matching: {"type": TAG_REMOVE, "key": tag_key}
TAG_NEW_KEY = "tag-new-key"
TAG_NEW_VALUE = "tag-new-value"
TAG_SAVE = "tag-save"
TAG_CANCEL = "tag-cancel"
TAG_MESSAGE = "tag-message"

# API tokens page (/tokens)
TOKENS_LIST = "tokens-list"
TOKEN_NAME = "token-name"
TOKEN_CREATE = "token-create"
TOKEN_CREATED = "token-created"
TOKEN_REVOKE = "token-revoke"  # pattern-matching id type: {"type": TOKEN_REVOKE, "id": token_id}
TOKENS_REFRESH = "tokens-refresh"

# Teams page (/teams)
TEAMS_LIST = "teams-list"
TEAMS_REFRESH = "teams-refresh"
TEAM_NEW_NAME = "team-new-name"
TEAM_CREATE = "team-create"
TEAM_CREATE_ROW = "team-create-row"
TEAM_MESSAGE = "team-message"
TEAM_MEMBER_NAME = "team-member-name"  # pattern-matching: {"type": ..., "team": team_name}
TEAM_MEMBER_ROLE = "team-member-role"
TEAM_MEMBER_SAVE = "team-member-save"
TEAM_MEMBER_REMOVE = "team-member-remove"  # {"type": ..., "team": team_name, "user": username}
RUN_EXPORT = "run-export"
RUN_DOWNLOAD = "run-download"

# Run comparison (/compare?runs=…&baseline=…&metrics=…)
RUN_COMPARE = "run-compare"  # the "Compare selected" button on the experiment page
COMPARE_QUERY = "compare-query"
COMPARE_URL = "compare-url"  # keeps baseline, metric and the diff toggle in the address bar (refresh=False)
COMPARE_CONTENT = "compare-content"
COMPARE_DATA = "compare-data"  # {"ids": [...]}: the compared run ids (the runs themselves stay in the server cache)
COMPARE_BRUSH = "compare-brush"  # parcoords constraint ranges by dimension index
COMPARE_DIFF_ONLY = "compare-diff-only"
COMPARE_BASELINE = "compare-baseline"
COMPARE_METRIC = "compare-metric"
COMPARE_PARAMS = "compare-params"
COMPARE_METRICS = "compare-metrics"
COMPARE_SELECTION = "compare-selection"
COMPARE_PARCOORDS = "compare-parcoords"
COMPARE_CURVES = "compare-curves"
COMPARE_CURVES_NOTE = "compare-curves-note"
COMPARE_ALIGN = "compare-align"  # curves by step or by time since each run's start
COMPARE_SCATTER_PARAM = "compare-scatter-param"
COMPARE_SCATTER = "compare-scatter"
COMPARE_IMPORTANCE = "compare-importance"

# Project page: settings and best metric
PROJECT_QUERY = "project-query"
PROJECT_URL = "project-url"  # keeps the chosen metric and mode in the address bar (refresh=False)
PROJECT_HEADER = "project-header"
PROJECT_TRENDS_LINK = "project-trends-link"
PROJECT_METRIC = "project-metric"
PROJECT_MODE = "project-mode"
PROJECT_SELECTION = "project-selection"
PROJECT_COMPARE_METRICS = "project-compare-metrics"
PROJECT_COMPARE = "project-compare"
PROJECT_COMPARE_ERROR = "project-compare-error"
PROJECT_SETTINGS_OPEN = "project-settings-open"
PROJECT_SETTINGS_MODAL = "project-settings-modal"
PROJECT_SETTINGS_CLOSE = "project-settings-close"
PROJECT_SETTINGS_DESCRIPTION = "project-settings-description"
PROJECT_SETTINGS_TAGS = "project-settings-tags"
PROJECT_SETTINGS_SAVE = "project-settings-save"
PROJECT_SETTINGS_ERROR = "project-settings-error"
PROJECT_SHARES = "project-shares"
PROJECT_SHARE_TEAM = "project-share-team"
PROJECT_SHARE_NEW_ROLE = "project-share-new-role"
PROJECT_SHARE_ADD = "project-share-add"
PROJECT_SHARE_MESSAGE = "project-share-message"
PROJECT_SHARE_ROLE = "project-share-role"  # pattern-matching: {"type": ..., "team": team_name}
PROJECT_SHARE_REMOVE = "project-share-remove"  # {"type": ..., "team": team_name}

# Run comparison: groups
COMPARE_GROUP = "compare-group"  # the "Group by" dropdown: "param:<key>" | "tag:<key>" | None (also ?group=)
COMPARE_AXES = "compare-axes"  # the parcoords axis labels by index (the brush goes to the URL keyed by label)
COMPARE_TABLES = "compare-tables"  # the params and metric tables packed by the server, drawn by assets/compare.js
COMPARE_PARAMS_VIEW = "compare-params-view"  # inside COMPARE_PARAMS: a message (Dash components)
COMPARE_PARAMS_HTML = "compare-params-html"  # inside COMPARE_PARAMS: the table, written as HTML by assets/compare.js
COMPARE_METRICS_VIEW = "compare-metrics-view"  # inside COMPARE_METRICS: a message or the group table
COMPARE_METRICS_HTML = "compare-metrics-html"  # inside COMPARE_METRICS: the table, written by assets/compare.js

# Trends pages and cost
TRENDS_PROJECT_ID = "trends-project-id"  # /projects/<id>/trends
TRENDS_QUERY = "trends-query"
TRENDS_URL = "trends-url"  # keeps metric and mode in the address bar (refresh=False)
TRENDS_CONTENT = "trends-content"
TRENDS_METRIC = "trends-metric"
TRENDS_MODE = "trends-mode"
TRENDS_BEST_GRAPH = "trends-best-graph"  # the container: the chart or its empty state
TRENDS_BEST_CHART = "trends-best-chart"
TRENDS_OUTCOMES_GRAPH = "trends-outcomes-graph"
TRENDS_DURATIONS_GRAPH = "trends-durations-graph"
TRENDS_USAGE = "trends-usage"
EXP_TRENDS_ID = "exp-trends-id"  # /experiments/<id>/trends
EXP_TRENDS_QUERY = "exp-trends-query"
EXP_TRENDS_URL = "exp-trends-url"
EXP_TRENDS_CONTENT = "exp-trends-content"
EXP_TRENDS_METRIC = "exp-trends-metric"
EXP_TRENDS_SUMMARY = "exp-trends-summary"  # last or best value per run
EXP_TRENDS_MODE = "exp-trends-mode"
EXP_TRENDS_RUNS_GRAPH = "exp-trends-runs-graph"  # the container: the chart or its empty state
EXP_TRENDS_RUNS_CHART = "exp-trends-runs-chart"
EXP_TRENDS_DURATIONS_GRAPH = "exp-trends-durations-graph"
EXP_TRENDS_USAGE = "exp-trends-usage"
RUN_COST_CARD = "run-cost-card"
TEAM_USAGE = "team-usage"  # pattern-matching: {"type": ..., "team": team_name}
TEAM_RATE = "team-rate"  # {"type": ..., "team": team_name, "rate": cpu_per_hour | gpu_per_hour | memory_per_gb_hour}
TEAM_RATES_SAVE = "team-rates-save"  # {"type": ..., "team": team_name}

# Stored experiment comparison (/visualizations/<comparison_id>)
VIZ_ID = "viz-id"
VIZ_CONTENT = "viz-content"

# Healthcare safety gates: run page panel, experiment summary card, template picker
RUN_SAFETY = "run-safety"
SAFETY_GATE_BADGE = "safety-gate-badge"
SAFETY_MATRIX = "safety-confusion-matrix"
EXP_SUMMARY = "exp-summary"
NEW_EXPERIMENT_TEMPLATE = "new-experiment-template"
