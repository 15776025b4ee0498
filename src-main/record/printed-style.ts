/** The printed record's style sheet: one page a witness reads and signs, light on paper. */
export const STYLE = `
@page { margin: 14mm 14mm 16mm; }
* { box-sizing: border-box; }
html { font: 10pt/1.4 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #000; background: #fff; }
body { margin: 0 auto; max-width: 180mm; padding: 8mm 0; }
@media print { body { padding: 0; max-width: none; } }
h1 { font-size: 18pt; margin: 0 0 2mm; }
h2 { font-size: 12pt; margin: 6mm 0 2mm; border-bottom: 0.4mm solid #000; }
.sub { margin: 0 0 4mm; color: #333; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 1mm 2mm; border-bottom: 0.2mm solid #999; overflow-wrap: anywhere; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
table.facts th { width: 46mm; font-weight: 600; }
h2 { break-after: avoid; }
table.events { font-size: 9pt; table-layout: fixed; }
table.events col.seq { width: 9mm; }
table.events col.time { width: 29mm; }
table.events td.mono { white-space: nowrap; }
table.events col.type { width: 33mm; }
table.events td.type { white-space: nowrap; overflow-wrap: normal; }
.mono, .hash { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; }
.final { break-inside: avoid; border: 0.6mm solid #000; padding: 3mm 4mm; margin: 5mm 0; }
.hash { font-size: 17pt; font-weight: 700; letter-spacing: 0.02em; word-spacing: 0.25em; line-height: 1.5; }
.broken { border: 0.8mm solid #b00; color: #b00; padding: 3mm; font-weight: 700; }
.unclosed { border: 1.2mm solid #000; padding: 4mm; margin: 4mm 0; font-size: 20pt; font-weight: 700; line-height: 1.25; text-align: center; }
.unclosed small { display: block; margin-top: 2mm; font-size: 11pt; font-weight: 400; }
.signatures { break-inside: avoid; }
.signatures table td { height: 15mm; vertical-align: bottom; border-bottom: 0.3mm solid #000; font-size: 8pt; color: #444; }
.signatures table th { border: none; padding-top: 3mm; font-weight: 600; }
`
