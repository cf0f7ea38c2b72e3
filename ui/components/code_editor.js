// NiceGUI's CodeMirror with one editor state per open document.
//
// Loading a document (opening it, switching tabs, reloading after a conflict or a change made elsewhere)
// swaps in a state of its own instead of editing the text in place, so a load is never an undoable edit
// and Ctrl+Z in one file never replays another file's history. Edits are reported with the document and
// revision they were made in, so an edit still on its way when the server switched documents reaches the
// right file. Problems (compile errors, tracebacks) are shown as gutter marks with their message. The
// assistant reads the selection and inserts its code as ordinary transactions: typed-like edits that
// Ctrl+Z undoes and that reach the server as every edit does. Highlighted syntax also carries stable classes
// (cl-tok-keyword, ...) an extension's theme colours, and the completion offers the extensions' snippets.
//
// Drafts: the text of every document edited since it was loaded or saved is kept in the tab's sessionStorage
// (by user, workspace and path, with the content hash it started from), written a moment after each edit and
// dropped once the server saved exactly that text. A page that loses its server (the instance died: NiceGUI
// reloads it on another one), a reload or a crashed tab finds them there; the server decides what to put back
// (see drafts.py). A lost connection is marked too, so the next page can say it reconnected.
import Base from "codeloft-codemirror-base";
import * as CM from "nicegui-codemirror";

class ProblemMarker extends CM.GutterMarker {
  constructor(severity, message) {
    super();
    this.severity = severity;
    this.message = message;
  }
  eq(other) {
    return other.severity === this.severity && other.message === this.message;
  }
  toDOM() {
    const mark = document.createElement("span");
    mark.className = "cl-problem-mark cl-problem-" + this.severity;
    mark.textContent = "●";
    mark.title = this.message;
    mark.setAttribute("role", "img");
    mark.setAttribute("aria-label", this.severity + ": " + this.message);
    return mark;
  }
}

const setProblems = CM.StateEffect.define();
// Gutter marks and line highlights move with the text while the person edits.
const problemField = CM.StateField.define({
  create: () => ({ marks: CM.RangeSet.empty, lines: CM.Decoration.none }),
  update(value, tr) {
    let { marks, lines } = value;
    marks = marks.map(tr.changes);
    lines = lines.map(tr.changes);
    for (const effect of tr.effects) if (effect.is(setProblems)) ({ marks, lines } = effect.value);
    return { marks, lines };
  },
  provide: (field) => CM.EditorView.decorations.from(field, (value) => value.lines),
});
const problemGutter = CM.gutter({
  class: "cl-problem-gutter",
  markers: (view) => view.state.field(problemField).marks,
});
// Red for errors, amber for warnings, at AA contrast on the light and the dark theme.
const problemTheme = CM.EditorView.baseTheme({
  ".cl-problem-mark": { cursor: "default", padding: "0 2px" },
  // VS Code's dark line numbers (#838383 on #1e1e1e) are 4.4:1; a shade lighter reaches AA.
  "&dark .cm-gutters .cm-gutterElement": { color: "#a0a0a0" },
  "&light .cl-problem-error": { color: "#c62828" },
  "&light .cl-problem-warning": { color: "#b45309" },
  "&dark .cl-problem-error": { color: "#ff8a80" },
  "&dark .cl-problem-warning": { color: "#ffd180" },
  "&light .cl-problem-line-error": { backgroundColor: "#fdecea" },
  "&light .cl-problem-line-warning": { backgroundColor: "#fff4e5" },
  "&dark .cl-problem-line-error": { backgroundColor: "#4a1f1f" },
  "&dark .cl-problem-line-warning": { backgroundColor: "#47351a" },
});

// Stable classes for highlighted syntax, beside the theme's own: an extension's theme colours them (its CSS
// is made by extension_theme.py). A tag's modifier decides first (a called or defined function), then the
// tag and its parents by name, the most specific first.
const TOKEN_OF_MODIFIER = { function: "function", standard: "function", constant: "constant" };
const TOKEN_OF_TAG = {
  tagName: "tag", attributeName: "attribute", className: "class", typeName: "type", namespace: "type",
  propertyName: "property", variableName: "variable", labelName: "variable", macroName: "function", name: "variable",
  string: "string", character: "string", attributeValue: "string", docString: "string", url: "string",
  number: "number", integer: "number", float: "number", unit: "number",
  bool: "constant", null: "constant", atom: "constant", color: "constant", self: "keyword",
  regexp: "regexp", keyword: "keyword", comment: "comment", operator: "operator", punctuation: "punctuation",
  invalid: "invalid",
};
const NAMES = new Set(["variableName", "propertyName", "name"]);
function tokenOf(tag) {
  if (NAMES.has(tag.name)) {
    for (const modifier of tag.modified || []) {
      if (TOKEN_OF_MODIFIER[modifier.name]) return TOKEN_OF_MODIFIER[modifier.name];
    }
  }
  for (const kind of tag.set || [tag]) {
    if (Object.hasOwn(TOKEN_OF_TAG, kind.name)) return TOKEN_OF_TAG[kind.name];
  }
  return null;
}
const tokenClasses = {
  style(tags) {
    const classes = new Set();
    for (const tag of tags) {
      const token = tokenOf(tag);
      if (token) classes.add("cl-tok-" + token);
    }
    return classes.size ? [...classes].join(" ") : null;
  },
};

// A snippet's body in VS Code's syntax, simply: ${1:text} is its text, a later $1 or ${1} repeats it (else it is
// empty), \$ is a $. The cursor goes to the first field ($1, else $0, else the end) with its text selected.
function expandSnippet(body) {
  const pattern = /\\\$|\$\{(\d+)(?::([^}]*))?\}|\$(\d+)/g;
  const fields = [];
  let text = "";
  let last = 0;
  let match;
  while ((match = pattern.exec(body))) {
    text += body.slice(last, match.index);
    if (match[0] === "\\$") text += "$";
    else {
      const number = Number(match[1] ?? match[3]);
      const value = match[2] ?? fields.find((field) => field.number === number)?.value ?? "";
      fields.push({ number, value, from: text.length, to: text.length + value.length });
      text += value;
    }
    last = pattern.lastIndex;
  }
  text += body.slice(last);
  const numbered = fields.filter((field) => field.number > 0).sort((a, b) => a.number - b.number);
  const first = numbered[0] || fields.find((field) => field.number === 0) || { from: text.length, to: text.length };
  return { text, first };
}

function applySnippet(body) {
  return (view, completion, from, to) => {
    const indent = /^\s*/.exec(view.state.doc.lineAt(from).text)[0];
    const { text, first } = expandSnippet(body.split("\n").join("\n" + indent));
    view.dispatch({
      changes: { from, to, insert: text },
      selection: { anchor: from + first.from, head: from + first.to },
      scrollIntoView: true,
      userEvent: "input.complete",
    });
  };
}

const DRAFT_PREFIX = "codeloft.draft/";
const LOST_KEY = "codeloft.lost";
const DRAFT_DELAY_MS = 300;
const LOST_MAX_AGE_MS = 10 * 60 * 1000;

function drafts() {
  if (window.codeloftNoDrafts) return null; // signing out: frame.py dropped them, none are written again
  try {
    return window.sessionStorage;
  } catch {
    return null; // storage disabled: no drafts, the leave-page prompt still guards
  }
}

// NiceGUI reloads the page by itself when the server that answers its socket does not know it (its instance
// died) or a reconnect timed out, saying so on the console first. That reload must not stop at the browser's
// leave-page prompt (the drafts carry the text over); closing the tab during an outage still asks.
if (!window.codeloftWatchesReloads) {
  window.codeloftWatchesReloads = true;
  const log = console.log;
  console.log = function (...args) {
    if (typeof args[0] === "string" && args[0].startsWith("reloading because")) window.codeloftReloading = true;
    return log.apply(this, args);
  };
}

function readJSON(store, key) {
  try {
    return JSON.parse(store.getItem(key));
  } catch {
    return null;
  }
}

export default {
  ...Base,
  props: {
    ...Base.props,
    document: String,
    revision: Number,
    problems: Array,
    dirty: Boolean,
    label: String,
    snippets: Object,
    draftScope: String, // "<user id>/<workspace id>"; empty: no drafts
    documents: Object, // document -> {path, base}: where its draft goes and the hash its text started from
    instance: String, // the server's name, kept with a lost connection
  },
  watch: {
    ...Base.watch,
    problems() {
      this._problemsPending = true; // applied after the document that goes with them
    },
    indent(value) {
      this.editor?.dispatch({ effects: this.indentConfig.reconfigure(CM.indentUnit.of(value)) });
    },
  },
  // NiceGUI's own mount, except that the settings and the problems go in as one transaction: each
  // transaction makes the browser lay the page out again, and on a first paint that is the page's
  // whole layout, once per setting.
  async mounted() {
    this._states = new Map(); // document -> {state, revision}
    this._seq = new Map(); // document -> how many edits it has had (reported with each, so a save says which it holds)
    this._edited = new Set(); // documents with edits not known to be saved: they have drafts
    this._unwritten = new Set(); // ... whose draft is not written yet
    this._bases = {}; // document -> the hash a save gave it (before the props say so)
    this._restores = new Map(); // document -> {revision, text, resolve}: put back once it is shown
    this._document = this.document;
    this._revision = this.revision;
    this.indentConfig = new CM.Compartment();
    this.themes = { ...CM.themes, oneDark: CM.oneDark };
    this.themeConfig = new CM.Compartment();
    this.languages = CM.languages;
    this.languageConfig = new CM.Compartment();
    this.editableConfig = new CM.Compartment();
    this.editableStates = { true: CM.EditorView.editable.of(true), false: CM.EditorView.editable.of(false) };
    this.lineWrappingConfig = new CM.Compartment();
    this.userKeymapConfig = new CM.Compartment();
    this.editor = new CM.EditorView({ doc: this.value, extensions: this.setupExtensions(), parent: this.$el });
    this.resolveEditor(this.editor);
    this.emitting = false; // the base's change sender stays silent: ours tags each edit with its document
    this.setLanguage(this.language); // loads the language's module, then reconfigures
    this.editor.dispatch({ effects: [...this.settingEffects(), this.problemsEffect()] });
    if (this.decorations?.length) this.setDecorations(this.decorations);
    if (this.lineAnchors && Object.keys(this.lineAnchors).length) this.applyLineAnchors(this.lineAnchors);
    if (this.lineTooltips && Object.keys(this.lineTooltips).length) this.setLineTooltips(this.lineTooltips);
    this.validateUserKeymap();
    this.emitCursor();
    this._pageHide = () => (this._unloading = true);
    window.addEventListener("pagehide", this._pageHide);
    this._onDisconnect = () => {
      if (this._unloading) return;
      this.flushDrafts();
      drafts()?.setItem(LOST_KEY, JSON.stringify({ at: Date.now(), instance: this.instance || "" }));
    };
    const watchSocket = () => {
      if (this._unmounted) return;
      if (!window.socket) return void setTimeout(watchSocket, 100);
      window.socket.on("disconnect", this._onDisconnect);
    };
    watchSocket();
    this._beforeUnload = (event) => {
      this.flushDrafts();
      if (!this.dirty || window.codeloftReloading) return; // NiceGUI's reload: the next page puts the drafts back
      event.preventDefault();
      event.returnValue = ""; // the browser's own "Leave site? Changes you made may not be saved."
    };
    window.addEventListener("beforeunload", this._beforeUnload);
  },
  beforeUnmount() {
    this._unmounted = true;
    this.flushDrafts();
    window.removeEventListener("beforeunload", this._beforeUnload);
    window.removeEventListener("pagehide", this._pageHide);
    window.socket?.off("disconnect", this._onDisconnect);
    Base.beforeUnmount.call(this);
  },
  methods: {
    ...Base.methods,
    setupExtensions() {
      if (this._extensions) return this._extensions;
      const self = this;
      const editSender = CM.ViewPlugin.fromClass(
        class {
          update(update) {
            if (update.selectionSet || update.docChanged) self.emitCursor();
            if (!update.docChanged) return;
            const changes = update.changes;
            const seq = (self._seq.get(self._document) || 0) + 1;
            self._seq.set(self._document, seq);
            self.keepDraft(self._document);
            self.$emit("update:value", {
              document: self._document,
              revision: self._revision,
              seq,
              sections: changes.sections,
              inserted: changes.inserted.map((text) => text.toJSON()),
            });
          }
        },
      );
      // The extensions' snippets of the shown mode, offered as the prefix is typed (and by Ctrl+Space).
      const snippetSource = (context) => {
        const snippets = (self.snippets || {})[self.language] || [];
        if (!snippets.length) return null;
        const word = context.matchBefore(/[\w#!@$:.\-]+/);
        if (!word && !context.explicit) return null;
        return {
          from: word ? word.from : context.pos,
          options: snippets.map((snippet) => ({
            label: snippet.prefix,
            detail: snippet.detail,
            info: snippet.body,
            type: "text",
            apply: applySnippet(snippet.body),
          })),
          validFor: /^[\w#!@$:.\-]*$/,
        };
      };
      this._extensions = [
        ...Base.methods.setupExtensions.call(this),
        CM.syntaxHighlighting(tokenClasses),
        CM.EditorState.languageData.of(() => [{ autocomplete: snippetSource }]),
        CM.Prec.highest(this.indentConfig.of(CM.indentUnit.of(this.indent))),
        CM.EditorView.contentAttributes.of({ "aria-label": this.label || "Code editor" }),
        editSender,
        // Ctrl+I is the page's (the assistant), not CodeMirror's select-parent-syntax.
        CM.Prec.highest(CM.keymap.of([{ key: "Mod-i", run: () => true }])),
        problemField,
        problemGutter,
        problemTheme,
      ];
      return this._extensions;
    },
    setEditorValueFromProps() {
      Base.methods.setEditorValueFromProps.call(this);
      if (this._problemsPending) {
        this._problemsPending = false;
        this.applyProblems();
      }
    },
    // Called with every update of the element: only a new document or revision replaces the text; the
    // same document at the same revision is what the person is typing into, and the browser holds it.
    setEditorValue(value) {
      if (!this.editor) return;
      if (this.document === this._document && this.revision === this._revision) return;
      this._states.set(this._document, { state: this.editor.state, revision: this._revision });
      const kept = this._states.get(this.document);
      const state =
        kept && kept.revision === this.revision && kept.state.doc.toString() === value
          ? kept.state
          : CM.EditorState.create({ doc: value, extensions: this.setupExtensions() });
      this._document = this.document;
      this._revision = this.revision;
      this.editor.setState(state);
      // A kept state carries the settings of the time it was put away; a new one carries none. A new
      // document comes with its own problems, changed or not.
      this.setLanguage(this.language);
      this.editor.dispatch({ effects: [...this.settingEffects(), this.problemsEffect()] });
      this.emitCursor();
      const restore = this._restores.get(this._document);
      if (restore && restore.revision === this._revision) {
        this._restores.delete(this._document);
        restore.resolve(this.putBack(restore.text));
      }
    },

    // --- drafts ---
    draftKey(path) {
      return DRAFT_PREFIX + this.draftScope + "/" + path;
    },
    textOf(document) {
      if (document === this._document) return this.editor.state.doc.toString();
      return this._states.get(document)?.state.doc.toString();
    },
    keepDraft(document) {
      this._edited.add(document);
      this._unwritten.add(document);
      if (!this._draftTimer) this._draftTimer = setTimeout(() => this.flushDrafts(), DRAFT_DELAY_MS);
    },
    flushDrafts() {
      clearTimeout(this._draftTimer);
      this._draftTimer = null;
      for (const document of this._unwritten) this.writeDraft(document);
      this._unwritten.clear();
    },
    writeDraft(document, base) {
      const store = drafts();
      const meta = (this.documents || {})[document];
      if (!store || !this.draftScope || !meta || !this._edited.has(document)) return;
      const text = this.textOf(document);
      if (text === undefined) return;
      const draft = { path: meta.path, base: base ?? this._bases[document] ?? meta.base, text, at: Date.now() };
      try {
        store.setItem(this.draftKey(meta.path), JSON.stringify(draft));
      } catch {
        // full: the leave-page prompt still guards this text
      }
    },
    // The server saved the document as it was after edit `seq`, which gave it `base`: its draft goes, unless
    // it was edited again since (then the draft starts from the new hash).
    draftSaved(document, path, base, seq) {
      this._bases[document] = base;
      if ((this._seq.get(document) || 0) === seq) this.dropDraft(document, path);
      else this.writeDraft(document, base);
    },
    // The document was reloaded from the server or closed: nothing of it is unsaved any more.
    dropDraft(document, path) {
      this._edited.delete(document);
      this._unwritten.delete(document);
      delete this._bases[document];
      if (this.draftScope) drafts()?.removeItem(this.draftKey(path));
    },
    moveDraft(from, to) {
      const store = drafts();
      if (!store || !this.draftScope) return;
      const draft = readJSON(store, this.draftKey(from));
      store.removeItem(this.draftKey(from));
      if (draft) store.setItem(this.draftKey(to), JSON.stringify({ ...draft, path: to }));
    },
    readDraft(path) {
      const store = drafts();
      const draft = store && this.draftScope ? readJSON(store, this.draftKey(path)) : null;
      return draft && typeof draft.text === "string" ? draft : null;
    },
    // The drafts kept in this tab for this workspace, and whether the page before this one lost its server.
    keptDrafts() {
      const store = drafts();
      if (!store || !this.draftScope) return { drafts: [], lost: null };
      const prefix = DRAFT_PREFIX + this.draftScope + "/";
      const kept = [];
      for (let i = 0; i < store.length; i++) {
        const key = store.key(i);
        if (!key?.startsWith(prefix)) continue;
        const draft = readJSON(store, key);
        if (draft && typeof draft.text === "string" && typeof draft.path === "string") {
          kept.push({ path: draft.path, base: String(draft.base || ""), text: draft.text });
        }
      }
      let lost = readJSON(store, LOST_KEY);
      store.removeItem(LOST_KEY);
      if (!lost || !(Date.now() - Number(lost.at) < LOST_MAX_AGE_MS)) lost = null;
      return { drafts: kept, lost: lost && { instance: String(lost.instance || "") } };
    },
    // Put a kept draft into the document (at that revision) as an edit of the person's: the document is
    // then modified, and saving it goes through the server's conflict check. True once it is in.
    restoreDraft(document, revision, path) {
      const draft = this.readDraft(path);
      if (!draft || !this.editor) return false;
      if (document === this._document && revision === this._revision) return this.putBack(draft.text);
      return new Promise((resolve) => {
        this._restores.get(document)?.resolve(false);
        this._restores.set(document, { revision, text: draft.text, resolve });
        setTimeout(() => {
          if (this._restores.get(document)?.resolve === resolve) this._restores.delete(document);
          resolve(false);
        }, 10000);
      });
    },
    putBack(text) {
      const doc = this.editor.state.doc;
      if (doc.toString() !== text) {
        this.editor.dispatch({ changes: { from: 0, to: doc.length, insert: text }, userEvent: "input.paste" });
      }
      return true;
    },
    downloadDraft(path) {
      const draft = this.readDraft(path);
      if (!draft) return false;
      const anchor = document.createElement("a");
      anchor.href = URL.createObjectURL(new Blob([draft.text], { type: "text/plain;charset=utf-8" }));
      anchor.download = path.split("/").pop();
      document.body.appendChild(anchor);
      anchor.click();
      anchor.remove();
      setTimeout(() => URL.revokeObjectURL(anchor.href), 10000);
      return true;
    },
    async copyDraft(path) {
      const draft = this.readDraft(path);
      if (!draft) return false;
      try {
        await navigator.clipboard.writeText(draft.text);
        return true;
      } catch {
        return false;
      }
    },
    // The socket is back with the same server: nothing was lost after all.
    reconnected() {
        drafts()?.removeItem(LOST_KEY);
    },

    emitCursor() {
      const { head, from, to } = this.editor.state.selection.main;
      const line = this.editor.state.doc.lineAt(head);
      this.$emit("cursor", { line: line.number, column: head - line.from + 1, selected: to - from });
    },
    selectionText() {
      const { from, to } = this.editor.state.selection.main;
      return this.editor.state.sliceDoc(from, to);
    },
    // Insert `text` at the cursor, or in place of the selection (`replace`), as one undoable edit.
    insertText(text, replace) {
      if (!this.editor) return;
      const { head, from, to } = this.editor.state.selection.main;
      const changes = this.editor.state.changes(replace ? { from, to, insert: text } : { from: head, insert: text });
      this.editor.dispatch({
        changes,
        selection: { anchor: changes.mapPos(replace ? to : head, 1) },
        scrollIntoView: true,
        userEvent: "input.paste",
      });
      this.editor.focus();
    },
    forget(document) {
      this._states.delete(document);
    },
    // The theme, whether it can be edited, line wrapping and the indent unit, as the props say.
    settingEffects() {
      const effects = [
        this.editableConfig.reconfigure(this.editableStates[!this.disable]),
        this.lineWrappingConfig.reconfigure(this.lineWrapping ? [CM.EditorView.lineWrapping] : []),
        this.indentConfig.reconfigure(CM.indentUnit.of(this.indent)),
      ];
      const theme = this.themes[this.theme];
      if (theme !== undefined) effects.push(this.themeConfig.reconfigure([theme]));
      return effects;
    },
    applyProblems() {
      if (this.editor) this.editor.dispatch({ effects: this.problemsEffect() });
    },
    problemsEffect() {
      const doc = this.editor.state.doc;
      const marks = [];
      const lines = [];
      for (const problem of this.problems || []) {
        if (problem.line < 1 || problem.line > doc.lines) continue;
        const from = doc.line(problem.line).from;
        marks.push(new ProblemMarker(problem.severity, problem.message).range(from));
        lines.push(CM.Decoration.line({ class: "cl-problem-line cl-problem-line-" + problem.severity }).range(from));
      }
      return setProblems.of({ marks: CM.RangeSet.of(marks, true), lines: CM.Decoration.set(lines, true) });
    },
    // Put the cursor at a line and column (1-based; a column past the line's end goes to its end) and show it.
    goTo(lineNumber, column) {
      if (!this.editor) return;
      const doc = this.editor.state.doc;
      const line = doc.line(Math.max(1, Math.min(lineNumber, doc.lines)));
      const anchor = line.from + Math.max(0, Math.min((column || 1) - 1, line.length));
      this.editor.dispatch({ selection: { anchor }, scrollIntoView: true });
      this.revealLine(line.number);
      this.editor.focus();
    },
  },
};
