// The page's extension theme: a stylesheet in the document's head whose text is the `css` prop (made on the
// server from validated colours only, see extension_theme.py), replaced whenever the person picks a theme.
export default {
  template: "<span hidden></span>",
  props: { css: String },
  mounted() {
    this.sheet = document.createElement("style");
    this.sheet.dataset.codeloft = "extension-theme";
    this.sheet.textContent = this.css || "";
    document.head.appendChild(this.sheet);
  },
  watch: {
    css(value) {
      if (this.sheet) this.sheet.textContent = value || "";
    },
  },
  unmounted() {
    this.sheet?.remove();
  },
};
