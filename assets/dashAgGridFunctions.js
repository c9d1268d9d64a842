/* Value formatters for dash-ag-grid (referenced as {"function": "etTime(params.value)"}). */
var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});

function pad(n) {
    return n < 10 ? "0" + n : String(n);
}

dagfuncs.etTime = function (value) {
    if (!value) {
        return "—";
    }
    var date = new Date(value);
    if (isNaN(date.getTime())) {
        return String(value);
    }
    var seconds = (Date.now() - date.getTime()) / 1000;
    if (seconds >= 0 && seconds < 60) {
        return "just now";
    }
    if (seconds >= 0 && seconds < 3600) {
        return Math.floor(seconds / 60) + " min ago";
    }
    if (seconds >= 0 && seconds < 86400) {
        return Math.floor(seconds / 3600) + " h ago";
    }
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) + " " +
        pad(date.getHours()) + ":" + pad(date.getMinutes());
};

dagfuncs.etDuration = function (seconds) {
    if (seconds === null || seconds === undefined) {
        return "—";
    }
    if (seconds < 60) {
        return seconds.toFixed(1) + " s";
    }
    var m = Math.floor(seconds / 60);
    if (m < 60) {
        return m + " min " + Math.round(seconds % 60) + " s";
    }
    var h = Math.floor(m / 60);
    return h + " h " + (m % 60) + " min";
};

dagfuncs.etNumber = function (value) {
    if (value === null || value === undefined || value === "") {
        return "";
    }
    if (typeof value !== "number") {
        return String(value);
    }
    if (value !== 0 && (Math.abs(value) >= 1e6 || Math.abs(value) < 1e-3)) {
        return value.toExponential(3);
    }
    return String(Math.round(value * 10000) / 10000);
};
