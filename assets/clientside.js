/* Clientside callbacks: the run table's first rows from the page itself; refetch its loaded blocks when the
   experiment's live version moves. */
function etStable(value) {
    /* JSON with sorted keys, so two equal filter models compare equal whatever their key order. */
    if (Array.isArray(value)) {
        return "[" + value.map(etStable).join(",") + "]";
    }
    if (value && typeof value === "object") {
        return "{" + Object.keys(value).sort().map(k => JSON.stringify(k) + ":" + etStable(value[k])).join(",") + "}";
    }
    return JSON.stringify(value === undefined ? null : value);
}

function etSameTableState(request, first) {
    const sort = (request.sortModel || []).map(s => (s.sort === "desc" ? "-" : "") + s.colId).join(",");
    return sort === first.sort && etStable(request.filterModel || {}) === etStable(first.filter || {});
}

window.dash_clientside = Object.assign({}, window.dash_clientside, {
    et: {
        /* Navbar: the switcher moves to the chosen project unless the page already belongs to it. */
        switchProject: function (value, current) {
            if (!value || value === current) {
                return window.dash_clientside.no_update;
            }
            return "/projects/" + encodeURIComponent(value);
        },
        /* Navbar: a new page starts with an empty search box (nothing to do when it already is). */
        clearSearch: function (_pathname, text) {
            return text ? "" : window.dash_clientside.no_update;
        },
        /* The run table's row requests: the first one is answered from the rows the page came with (computed in
           the page's own request for the state in its URL); every other one goes to the server callback. */
        serveRows: function (request, first) {
            const skip = window.dash_clientside.no_update;
            if (!request) {
                return [skip, skip, skip, skip];
            }
            if (first && request.startRow === 0 && request.endRow <= first.end && etSameTableState(request, first)) {
                const rows = first.response.rowData.slice(0, request.endRow);
                return [{rowData: rows, rowCount: first.response.rowCount}, first.label, skip, null];
            }
            const forward = {startRow: request.startRow, endRow: request.endRow, sortModel: request.sortModel,
                             filterModel: request.filterModel, nonce: Math.random()};
            return [skip, skip, forward, first ? null : skip];
        },
        /* Run page: the side panels (safety, cost, tags, artifacts, features) get the page's version once its
           charts are drawn (or after 1.5 s), so their callbacks do not compete with plotly for the first chart. */
        afterCharts: function (seen) {
            const drawn = () => [...document.querySelectorAll("#run-charts .metric-chart")]
                .every(graph => graph.querySelector(".main-svg"));
            return new Promise(function (resolve) {
                const started = performance.now();
                (function wait() {
                    if (drawn() || performance.now() - started > 1500) {
                        resolve(seen === undefined ? null : seen);
                    } else {
                        setTimeout(wait, 50);
                    }
                })();
            });
        },
        refreshRunGrid: function (version) {
            if (version === null || version === undefined || !window.dash_ag_grid) {
                return window.dash_clientside.no_update;
            }
            window.dash_ag_grid.getApiAsync("run-grid").then(function (api) {
                api.refreshInfiniteCache();
            }).catch(function () {
                /* the grid left the page meanwhile */
            });
            return window.dash_clientside.no_update;
        },
    },
});
