/* Clientside callbacks: refetch the run table's loaded blocks when the experiment's live version moves. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    et: {
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
