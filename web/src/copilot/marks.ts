// The marks of the copilot change under review, read by the canvas nodes (editor/RRNode.tsx).
import { create } from "zustand";
import type { Mark } from "./diff";

interface DiffMarks {
  marks: Record<string, Mark>;
  setMarks: (marks: Record<string, Mark>) => void;
}

export const useDiffMarks = create<DiffMarks>((set) => ({
  marks: {},
  setMarks: (marks) => set({ marks }),
}));
