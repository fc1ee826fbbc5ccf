// netsuite pages: the two DOM helpers both pages use, loaded before each page's script.
// el() only ever sets text (textContent), never HTML: text from peers cannot become markup.
"use strict";

window.netsuiteDom = Object.freeze({
  $: (id) => document.getElementById(id),
  el: (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  },
});
