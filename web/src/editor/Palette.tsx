import { useMemo, useState, type DragEvent } from "react";
import type { NodeType } from "../api";

export const DRAG_MIME = "application/x-reporunner-node";

export function Palette(props: {
  catalog: NodeType[];
  onAdd: (type: string) => void;
  disabled?: boolean;
}) {
  const [query, setQuery] = useState("");
  const groups = useMemo(() => {
    const q = query.trim().toLowerCase();
    const hits = props.catalog.filter(
      (t) =>
        !q ||
        t.display_name.toLowerCase().includes(q) ||
        t.type.toLowerCase().includes(q) ||
        t.description.toLowerCase().includes(q) ||
        t.category.toLowerCase().includes(q),
    );
    const by = new Map<string, NodeType[]>();
    for (const t of hits) by.set(t.category, [...(by.get(t.category) ?? []), t]);
    return [...by.entries()].sort(([a], [b]) => a.localeCompare(b));
  }, [props.catalog, query]);

  function onDragStart(e: DragEvent, type: string) {
    e.dataTransfer.setData(DRAG_MIME, type);
    e.dataTransfer.setData("text/plain", type);
    e.dataTransfer.effectAllowed = "move";
  }

  return (
    <aside className="palette" aria-label="Node palette">
      <input
        type="search"
        placeholder="Search nodes"
        aria-label="Search nodes"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        onKeyDown={(e) => {
          const first = groups[0]?.[1][0];
          if (e.key === "Enter" && first && !props.disabled) {
            e.preventDefault();
            props.onAdd(first.type); // Enter adds the first match
          }
        }}
      />
      <div className="palette-list">
        {groups.map(([cat, types]) => (
          <div key={cat} className="palette-group" role="group" aria-label={`${cat} nodes`}>
            <h3>{cat}</h3>
            {types.map((t) => (
              <button
                type="button"
                key={t.type}
                className="palette-item"
                draggable={!props.disabled}
                disabled={props.disabled}
                onDragStart={(e) => onDragStart(e, t.type)}
                onClick={() => props.onAdd(t.type)}
                title={t.description}
                aria-label={`Add ${t.display_name} (${t.type})`}
                data-type={t.type}
              >
                <span className="pi-name">{t.display_name}</span>
                <span className="pi-type">{t.type}</span>
              </button>
            ))}
          </div>
        ))}
        {!groups.length && <p className="muted">No node matches.</p>}
      </div>
    </aside>
  );
}
