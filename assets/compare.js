/* Run comparison: the params and metric tables drawn from the packed rows the server sends (components/compare.py
   params_table / metrics_table). They are written as one HTML string into a container Dash leaves empty: hundreds
   of rows as Dash components (tens of thousands of them) keep the browser busy for seconds, a string takes ms. */
const ET_CMP_SPECIAL = /[&<>"']/;
const ET_CMP_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"};

function etCmpEsc(value) {
    const text = String(value == null ? "" : value);
    return ET_CMP_SPECIAL.test(text) ? text.replace(/[&<>"']/g, c => ET_CMP_ENTITIES[c]) : text;  /* most cells: as is */
}

function etCmpAttrs(props) {
    return Object.keys(props).filter(k => props[k] != null && props[k] !== "")
        .map(k => " " + k + "=\"" + etCmpEsc(props[k]) + "\"").join("");
}

function etCmpHead(cell) {
    return "<th" + etCmpAttrs({"class": cell.className, "colspan": cell.colSpan, "rowspan": cell.rowSpan}) + ">"
        + etCmpEsc(cell.text) + "</th>";
}

function etCmpCell(cell, className) {
    /* "value" | ["value", "delta"] */
    const inner = Array.isArray(cell)
        ? etCmpEsc(cell[0]) + "<span class=\"delta\">" + etCmpEsc(cell[1]) + "</span>" : etCmpEsc(cell);
    return "<td" + etCmpAttrs({"class": className}) + ">" + inner + "</td>";
}

function etCmpRunCell(ref) {
    const [id, label, title, gate, gateClass, isBaseline] = ref;
    return "<td><a" + etCmpAttrs({href: "/runs/" + id, title: title}) + ">" + etCmpEsc(label) + "</a>"
        + (gate ? "<span" + etCmpAttrs({"class": gateClass}) + ">" + etCmpEsc(gate) + "</span>" : "")
        + (isBaseline ? "<span class=\"badge-baseline\"> baseline</span>" : "") + "</td>";
}

function etCmpTableHtml(t) {
    const head = t.head.map(row => "<tr>" + row.map(etCmpHead).join("") + "</tr>").join("");
    const body = t.rows.map(r => "<tr" + etCmpAttrs({"class": r.cls}) + ">" + etCmpRunCell(r.run)
        + r.cells.map(c => etCmpCell(c, t.cellClass)).join("") + "</tr>").join("");
    return (t.note ? "<div class=\"small text-secondary mb-1\">" + etCmpEsc(t.note) + "</div>" : "")
        + "<div class=\"compare-scroll\"><table class=\"table table-sm compare-table mb-0\"><thead>" + head
        + "</thead><tbody>" + body + "</tbody></table></div>";
}

function etCmpShow(packed, htmlId) {
    /* → [children of the view container (a message or group table), className of the HTML container] */
    const box = document.getElementById(htmlId);
    const table = packed && packed.table;
    if (box) { box.innerHTML = table ? etCmpTableHtml(table) : ""; }
    return [table ? null : (packed ? packed.tree : null), table ? "compare-packed" : "compare-packed d-none"];
}

window.dash_clientside = Object.assign({}, window.dash_clientside, {
    compare: {
        /* COMPARE_TABLES ({params, metrics}) → both tables: view children + HTML container class, each. */
        tables: function (packed, paramsId, metricsId) {
            if (!packed) {
                const skip = window.dash_clientside.no_update;
                return [skip, skip, skip, skip];
            }
            return [...etCmpShow(packed.params, paramsId), ...etCmpShow(packed.metrics, metricsId)];
        }
    }
});
