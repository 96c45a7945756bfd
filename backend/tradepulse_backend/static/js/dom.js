// Tiny DOM helpers: elements are built with textContent only, so data never becomes markup.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Show or hide a section's empty-state paragraph; returns true when the section is empty. */
export function emptyState(section, message) {
  const note = section.querySelector(':scope > p.empty');
  if (!note) return Boolean(message);
  note.hidden = !message;
  note.textContent = message || '';
  section.classList.toggle('is-empty', Boolean(message));
  return Boolean(message);
}

export function replaceChildren(node, children) {
  node.replaceChildren(...children);
}
