import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  useNodesInitialized,
  useReactFlow,
  type Connection,
  type Edge,
  type NodeTypes,
} from "@xyflow/react";
import { useCallback, useEffect, useState, type DragEvent } from "react";
import { DRAG_MIME } from "./Palette";
import { RRNode } from "./RRNode";
import { useEditor, type FlowNode } from "./store";

const nodeTypes: NodeTypes = { rr: RRNode };

function blurField() {
  const el = document.activeElement;
  if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement) {
    el.blur();
  }
}

/** The minimap draws every node a second time: it mounts once the canvas has measured its nodes
 * and the browser is idle, so opening a large workflow draws the canvas first. */
function useDeferredMiniMap(ready: boolean): boolean {
  const [shown, setShown] = useState(false);
  useEffect(() => {
    if (!ready || shown) return;
    if (typeof window.requestIdleCallback === "function") {
      const handle = window.requestIdleCallback(() => setShown(true), { timeout: 500 });
      return () => window.cancelIdleCallback(handle);
    }
    const handle = window.setTimeout(() => setShown(true), 0);
    return () => window.clearTimeout(handle);
  }, [ready, shown]);
  return shown;
}

export function Canvas(props: { onRefused: (why: string) => void; readOnly?: boolean }) {
  const nodes = useEditor((s) => s.nodes);
  const edges = useEditor((s) => s.edges);
  const onNodesChange = useEditor((s) => s.onNodesChange);
  const onEdgesChange = useEditor((s) => s.onEdgesChange);
  const connect = useEditor((s) => s.connect);
  const checkConnection = useEditor((s) => s.checkConnection);
  const addNode = useEditor((s) => s.addNode);
  const commit = useEditor((s) => s.commit);
  const flow = useReactFlow<FlowNode, Edge>();
  const { onRefused } = props;
  const measured = useNodesInitialized();
  const miniMap = useDeferredMiniMap(measured || nodes.length === 0);
  const isValidConnection = useCallback((c: Connection | Edge) => checkConnection(c) === null, [checkConnection]);

  const onConnect = useCallback(
    (c: Connection) => {
      const why = connect(c);
      if (why) onRefused(why);
    },
    [connect, onRefused],
  );

  const onDrop = useCallback(
    (e: DragEvent) => {
      const type = e.dataTransfer.getData(DRAG_MIME);
      if (!type || props.readOnly) return;
      e.preventDefault();
      const pos = flow.screenToFlowPosition({ x: e.clientX, y: e.clientY });
      addNode(type, { x: pos.x - 90, y: pos.y - 30 });
    },
    [flow, addNode, props.readOnly],
  );

  return (
    <div className="canvas" onDrop={onDrop} onDragOver={(e) => e.preventDefault()}
      role="region" aria-label="Workflow canvas">
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        isValidConnection={isValidConnection}
        onNodeDragStart={() => commit()}
        // d3-zoom keeps focus where it was on a canvas click; let keys reach the canvas again
        onPaneClick={blurField}
        onNodeClick={blurField}
        nodesConnectable={!props.readOnly}
        nodesDraggable={!props.readOnly}
        deleteKeyCode={props.readOnly ? null : ["Delete", "Backspace"]}
        multiSelectionKeyCode={["Shift", "Meta", "Control"]}
        fitView
        fitViewOptions={{ maxZoom: 1 }}
        minZoom={0.05}
        onlyRenderVisibleElements
      >
        <Background />
        {miniMap && <MiniMap pannable zoomable ariaLabel="Minimap" />}
        <Controls showInteractive={false} aria-label="Zoom and fit view" />
      </ReactFlow>
    </div>
  );
}
