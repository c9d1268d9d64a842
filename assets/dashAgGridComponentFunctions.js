/* Cell renderers for dash-ag-grid: client-side links (no page reload) and run/experiment status pills. */
var dagcomponentfuncs = (window.dashAgGridComponentFunctions = window.dashAgGridComponentFunctions || {});

dagcomponentfuncs.RowLink = function (props) {
    if (!props.data) {
        return null; // infinite model: the block is still loading
    }
    var prefix = (props.colDef.cellRendererParams || {}).prefix || "/";
    var href = prefix + encodeURIComponent(props.data.id);
    var child = props.colDef.field === "name" && props.data.parent_run_id; // nested run: indented under its parent
    return React.createElement("a", {
        href: href,
        className: child ? "row-link child-run" : "row-link",
        onClick: function (event) {
            if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
                return; // let the browser open a new tab or window
            }
            event.preventDefault();
            window.history.pushState({}, "", href);
            window.dispatchEvent(new CustomEvent("_dashprivate_pushstate"));
            window.scrollTo(0, 0);
        },
    }, props.value === null || props.value === undefined || props.value === "" ? "(unnamed)" : props.value);
};

dagcomponentfuncs.StatusBadge = function (props) {
    if (!props.value) {
        return null;
    }
    var value = String(props.value);
    return React.createElement("span", {className: "status-pill status-" + value.toLowerCase()}, value);
};

dagcomponentfuncs.ParentLink = function (props) {
    if (!props.data || !props.data.parent_run_id) {
        return null;
    }
    var href = "/runs/" + encodeURIComponent(props.data.parent_run_id);
    return React.createElement("a", {
        href: href,
        className: "row-link parent-link",
        onClick: function (event) {
            if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
                return;
            }
            event.preventDefault();
            window.history.pushState({}, "", href);
            window.dispatchEvent(new CustomEvent("_dashprivate_pushstate"));
        },
    }, "↳ " + (props.value || "parent"));
};
