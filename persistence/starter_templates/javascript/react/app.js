const { createElement: h, useState } = React;

function Counter({ label }) {
  const [count, setCount] = useState(0);
  return h("div", { className: "card" },
    h("h1", null, `Hello from ${label}!`),
    h("button", { onClick: () => setCount(count + 1) }, `Clicked ${count} times`));
}

ReactDOM.createRoot(document.getElementById("root")).render(h(Counter, { label: "React" }));
