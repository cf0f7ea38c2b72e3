// The file tree's items: one row per shown item (a row, its arrow, its icon, its name), drawn by one
// render function. Quasar's QTree, which this replaces, made each item a nest of components and elements
// (and NiceGUI's header slot a new component type per item at every render): on a workspace's first
// paint that was most of the page's work.
//
// It speaks QTree's language to `ui.tree` (props `nodes`, `node-key`, `label-key`, `children-key`,
// `selected`, `expanded`; events `update:selected`, `update:expanded`), so the server side stays
// NiceGUI's. Keyboard as in WAI-ARIA's tree view: one item in the tab order, Up and Down (Home, End)
// move between the shown items, Right opens a folder or goes into it, Left closes it or goes to its
// folder, Enter and Space choose the item. A click chooses; a click on the arrow or a double click on
// a folder opens or closes it.
import { h } from "vue";

const ROW_INDENT = 8; // px before a top-level item
const LEVEL_INDENT = 16; // px more for each level

export default {
  props: {
    nodes: { type: Array, default: () => [] },
    nodeKey: { type: String, default: "id" },
    labelKey: { type: String, default: "label" },
    childrenKey: { type: String, default: "children" },
    selected: { type: String, default: null },
    expanded: { type: Array, default: () => [] },
    draggable: { type: Boolean, default: false },
  },
  emits: ["update:selected", "update:expanded"],
  data() {
    // What the person did here shows at once; the server's answer (the props) takes over when it comes.
    return { openNow: null, chosenNow: undefined, focused: null };
  },
  watch: {
    expanded() {
      this.openNow = null;
    },
    selected() {
      this.chosenNow = undefined;
    },
  },
  computed: {
    open() {
      return new Set(this.openNow ?? this.expanded ?? []);
    },
    chosen() {
      return this.chosenNow === undefined ? this.selected : this.chosenNow;
    },
    rows() {
      const rows = [];
      const walk = (nodes, level, parent) => {
        for (const node of nodes || []) {
          const key = node[this.nodeKey];
          const children = node[this.childrenKey];
          const folder = Array.isArray(children);
          const open = folder && this.open.has(key);
          rows.push({ node, key, level, parent, folder, open });
          if (open) walk(children, level + 1, key);
        }
      };
      walk(this.nodes, 1, null);
      return rows;
    },
  },
  methods: {
    toggle(key) {
      const open = new Set(this.open);
      if (open.has(key)) open.delete(key);
      else open.add(key);
      this.openNow = [...open];
      this.$emit("update:expanded", this.openNow);
    },
    choose(key) {
      this.chosenNow = key;
      this.focused = key;
      this.$emit("update:selected", key);
    },
    focusRow(key) {
      this.focused = key;
      this.$nextTick(() => {
        const row = [...this.$el.querySelectorAll(".cl-tree-item")].find((element) => element.dataset.path === key);
        row?.focus();
        row?.scrollIntoView({ block: "nearest" });
      });
    },
    onKeydown(event, index) {
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      const rows = this.rows;
      const row = rows[index];
      let next = null;
      switch (event.key) {
        case "ArrowDown":
          next = rows[Math.min(index + 1, rows.length - 1)];
          break;
        case "ArrowUp":
          next = rows[Math.max(index - 1, 0)];
          break;
        case "Home":
          next = rows[0];
          break;
        case "End":
          next = rows[rows.length - 1];
          break;
        case "ArrowRight":
          if (row.folder && !row.open) this.toggle(row.key);
          else if (row.open) next = rows[index + 1];
          else return;
          break;
        case "ArrowLeft":
          if (row.open) this.toggle(row.key);
          else if (row.parent !== null) next = rows.find((candidate) => candidate.key === row.parent);
          else return;
          break;
        case "Enter":
        case " ":
          this.choose(row.key);
          break;
        default:
          return;
      }
      event.preventDefault();
      if (next) this.focusRow(next.key);
    },
  },
  render() {
    const rows = this.rows;
    const chosen = this.chosen;
    // The one item in the tab order: the focused one, else the chosen one, else the first.
    const keys = new Set(rows.map((row) => row.key));
    const tabbable = keys.has(this.focused) ? this.focused : keys.has(chosen) ? chosen : rows[0]?.key;
    return h(
      "div",
      { class: "cl-tree", role: "tree" },
      rows.map((row, index) => {
        const node = row.node;
        const selected = row.key === chosen;
        return h(
          "div",
          {
            key: row.key,
            class: selected ? "cl-tree-item cl-tree-item--selected" : "cl-tree-item",
            role: "treeitem",
            "aria-level": row.level,
            "aria-expanded": row.folder ? String(row.open) : undefined,
            "aria-selected": String(selected),
            tabindex: row.key === tabbable ? 0 : -1,
            draggable: this.draggable ? "true" : undefined,
            "data-path": row.key,
            "data-folder": row.folder ? "1" : "0",
            style: { paddingLeft: `${ROW_INDENT + (row.level - 1) * LEVEL_INDENT}px` },
            onClick: () => this.choose(row.key),
            onDblclick: () => row.folder && this.toggle(row.key),
            onKeydown: (event) => this.onKeydown(event, index),
            onFocus: () => (this.focused = row.key),
          },
          [
            row.folder
              ? h(
                  "i",
                  {
                    class: row.open ? "material-icons cl-tree-arrow cl-tree-arrow--open" : "material-icons cl-tree-arrow",
                    "aria-hidden": "true",
                    onClick: (event) => {
                      event.stopPropagation();
                      this.toggle(row.key);
                    },
                  },
                  "chevron_right",
                )
              : h("span", { class: "cl-tree-arrow", "aria-hidden": "true" }),
            h(
              "i",
              { class: "material-icons codeloft-tree-icon", style: { color: node.color }, "aria-hidden": "true" },
              row.folder ? (row.open ? "folder_open" : "folder") : node.icon,
            ),
            h("span", { class: "codeloft-tree-label", title: row.key }, node[this.labelKey]),
          ],
        );
      }),
    );
  },
};
