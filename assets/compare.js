/* Run comparison: the params and metric tables drawn from the packed rows the server sends (components/compare.py
   params_table / metrics_table), so a brush over thousands of runs answers with a few bytes per cell. */
function etCmpEl(type, props) {
    return {type: type, namespace: "dash_html_components", props: props};
}

function etCmpCell(tag, cell, className) {
    /* A header cell {text, className?, colSpan?, rowSpan?}, or a body cell "value" | ["value", "delta"]. */
    if (tag === "Th") {
        const props = {children: cell.text};
        ["className", "colSpan", "rowSpan"].forEach(k => { if (cell[k] != null) { props[k] = cell[k]; } });
        return etCmpEl("Th", props);
    }
    const props = {children: Array.isArray(cell)
        ? [cell[0], etCmpEl("Span", {children: cell[1], className: "delta"})] : cell};
    if (className) { props.className = className; }
    return etCmpEl("Td", props);
}

function etCmpRunCell(ref) {
    const [id, label, title, gate, gateClass, isBaseline] = ref;
    const parts = [etCmpEl("A", {children: label, href: "/runs/" + id, title: title})];
    if (gate) { parts.push(etCmpEl("Span", {children: gate, className: gateClass})); }
    if (isBaseline) { parts.push(etCmpEl("Span", {children: " baseline", className: "badge-baseline"})); }
    return etCmpEl("Td", {children: parts});
}

function etCmpTable(packed) {
    if (!packed) { return null; }
    if (packed.tree !== undefined) { return packed.tree; }  // a message or a group table: already a component
    const t = packed.table;
    const head = etCmpEl("Thead", {children: t.head.map(row => etCmpEl("Tr", {children: row.map(c => etCmpCell("Th", c))}))});
    const body = etCmpEl("Tbody", {children: t.rows.map(r => {
        const props = {children: [etCmpRunCell(r.run), ...r.cells.map(c => etCmpCell("Td", c, t.cellClass))]};
        if (r.cls) { props.className = r.cls; }
        return etCmpEl("Tr", props);
    })});
    const table = etCmpEl("Table", {children: [head, body], className: "table table-sm compare-table mb-0"});
    return etCmpEl("Div", {children: [
        t.note ? etCmpEl("Div", {children: t.note, className: "small text-secondary mb-1"}) : null,
        etCmpEl("Div", {children: table, className: "compare-scroll"})]});
}

window.dash_clientside = Object.assign({}, window.dash_clientside, {
    compare: {
        /* COMPARE_TABLES ({params, metrics}) → the two tables' children. */
        tables: function (packed) {
            if (!packed) { return [window.dash_clientside.no_update, window.dash_clientside.no_update]; }
            return [etCmpTable(packed.params), etCmpTable(packed.metrics)];
        }
    }
});
