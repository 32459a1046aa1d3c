namespace MailGateway.Dashboard;

/// <summary>The dashboard's one stylesheet, served by the host itself (<c>/ui/app.css</c>): no CDN, no font download.</summary>
internal static class DashboardStyles
{
    public const string Css = """
        :root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #ffffff; --panel: #f6f8fa; --accent: #0b57d0; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.45 system-ui, "DejaVu Sans", "Liberation Sans", sans-serif; color: var(--fg); background: var(--bg); }
        a { color: var(--accent); }
        .skip { position: absolute; left: -9999px; }
        .skip:focus { left: 8px; top: 8px; background: #fff; padding: 4px 8px; z-index: 2; }
        header.top { display: flex; flex-wrap: wrap; align-items: center; gap: 16px; padding: 8px 20px; background: #16213e; color: #fff; }
        header.top a { color: #dfe7ff; text-decoration: none; padding: 4px 8px; border-radius: 4px; }
        header.top a[aria-current="page"] { background: #2c3e73; color: #fff; }
        header.top ul { display: flex; gap: 4px; list-style: none; margin: 0; padding: 0; }
        .brand { font-weight: 700; letter-spacing: .02em; }
        .who { margin-left: auto; display: flex; gap: 8px; align-items: center; }
        main { padding: 12px 20px 40px; max-width: 1400px; }
        h1 { font-size: 1.5rem; margin: 8px 0 12px; word-break: break-all; }
        h2 { font-size: 1.15rem; margin: 24px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
        h3 { font-size: 1rem; margin: 16px 0 6px; }
        table.list { border-collapse: collapse; width: 100%; margin: 8px 0; font-size: 14px; }
        table.list th, table.list td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
        table.list thead th { background: var(--panel); }
        caption { text-align: left; color: var(--muted); padding: 4px 0; }
        .mono { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 13px; word-break: break-all; }
        .reply { max-width: 420px; word-break: break-word; color: var(--muted); }
        .badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; background: #eaeef2; }
        .badge.delivered { background: #dafbe1; color: #116329; }
        .badge.deferred, .badge.scheduled, .badge.queued, .badge.sending { background: #fff8c5; color: #7d4e00; }
        .badge.failed, .badge.expired, .badge.unknown { background: #ffebe9; color: #a40e26; }
        .badge.canceled { background: #eaeef2; color: #57606a; }
        form.filters { display: flex; flex-wrap: wrap; gap: 10px 14px; align-items: flex-end; background: var(--panel); padding: 10px 12px; border: 1px solid var(--line); border-radius: 6px; }
        form.filters div { display: flex; flex-direction: column; }
        form.filters .actions { flex-direction: row; gap: 10px; align-items: center; }
        form.stack { display: flex; flex-direction: column; gap: 6px; max-width: 420px; }
        form.inline { display: inline; }
        label { font-weight: 600; font-size: 13px; }
        input, select, button { font: inherit; padding: 4px 8px; border: 1px solid var(--line); border-radius: 4px; }
        button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
        button.danger { background: #cf222e; border-color: #cf222e; }
        header.top button { background: transparent; border-color: #8ea0d6; color: #fff; }
        .help { color: var(--muted); font-size: 13px; margin: 2px 0; width: 100%; }
        .notice { padding: 8px 12px; border-radius: 6px; border: 1px solid; }
        .notice.ok { background: #dafbe1; border-color: #4ac26b; }
        .notice.error { background: #ffebe9; border-color: #ff8182; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0 0 12px; }
        dl.facts dt { font-weight: 600; color: var(--muted); }
        dl.facts dd { margin: 0; word-break: break-word; }
        dl.tiles { display: flex; flex-wrap: wrap; gap: 12px; margin: 0; }
        dl.tiles div { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 150px; background: var(--panel); }
        dl.tiles dt { color: var(--muted); font-size: 13px; }
        dl.tiles dd { margin: 0; font-size: 1.4rem; font-weight: 700; }
        pre.body { white-space: pre-wrap; word-break: break-word; background: var(--panel); border: 1px solid var(--line); padding: 10px; max-height: 480px; overflow: auto; }
        iframe#html-body { width: 100%; height: 420px; border: 1px solid var(--line); background: #fff; }
        svg.chart { width: 100%; max-width: 760px; height: auto; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
        svg .axis { stroke: #8c959f; stroke-width: 1; }
        svg .label { font-size: 11px; fill: #57606a; }
        svg .end { text-anchor: end; }
        svg .delivered { fill: #2da44e; }
        svg .deferred { fill: #d4a72c; }
        svg .failed { fill: #cf222e; }
        .row-actions { white-space: nowrap; }
        """;
}
