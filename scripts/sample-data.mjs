// Sample event NDJSON for the demo: a few files per date, one corrupt line.
import fs from 'node:fs';
import path from 'node:path';

const [dir, ...dates] = process.argv.slice(2);
let seed = 42;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const pick = (a) => a[Math.floor(rnd() * a.length)];
for (const date of dates) {
  const files = date === dates[dates.length - 1] ? 9 : 3;
  for (let f = 1; f <= files; f++) {
    const lines = [];
    for (let i = 0; i < 200; i++) {
      const ev = {
        id: `evt_${date}_${f}_${i}`,
        timestamp: `${date}T${String(i % 24).padStart(2, '0')}:00:00Z`,
        event_type: pick(['view', 'click', 'purchase']),
        user_id: `user_${Math.floor(rnd() * 500)}`,
        revenue: rnd() < 0.5 ? 0 : Number((rnd() * 100).toFixed(2)),
        bounce: rnd() < 0.3,
        custom_data: { experiment_id: `exp_${f}`, variant: pick(['A', 'B']) },
      };
      if (f === 2) ev.extra = 'only in file 2';
      lines.push(JSON.stringify(ev));
    }
    if (f === 3) lines.push('{"id": "broken", "revenue": 01}');
    fs.writeFileSync(path.join(dir, `${date}-events-${f}.ndjson`), lines.join('\n') + '\n');
  }
}
