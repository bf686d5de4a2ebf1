/* DOM helpers. Text from the API goes in with textContent, never innerHTML. */

export const $ = (sel, root = document) => root.querySelector(sel);

/** Avoids re-announcing unchanged text inside aria-live regions. */
export const setText = (node, text) => { if (node.textContent !== text) node.textContent = text; };

/** el('li', { class, text, dataset, onclick, attr… }, ...children) */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, val] of Object.entries(props)) {
    if (val === undefined || val === null || val === false) continue;
    if (key === 'class') node.className = val;
    else if (key === 'text') node.textContent = String(val);
    else if (key === 'dataset') Object.assign(node.dataset, val);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), val);
    else node.setAttribute(key, val === true ? '' : String(val));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
