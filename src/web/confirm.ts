/**
 * The in-page "remove torrent?" dialog (a modal `<dialog>`, not `confirm()`), with an "also delete
 * downloaded files" checkbox. Resolves with the choice, or null when cancelled.
 */
import { h } from './dom.js';

export function confirmRemove(name: string): Promise<{ deleteData: boolean } | null> {
  return new Promise((resolve) => {
    const checkbox = h('input', { type: 'checkbox', testid: 'delete-data', id: 'delete-data' });
    const cancel = h('button', { class: 'button', type: 'button', testid: 'cancel-remove' }, 'Cancel');
    const confirm = h('button', { class: 'button danger', type: 'submit', testid: 'confirm-remove' }, 'Remove');
    const form = h('form', { method: 'dialog', class: 'dialog-body' },
      h('h2', { class: 'dialog-title' }, 'Remove torrent?'),
      h('p', { class: 'dialog-text' }, h('strong', { class: 'break' }, name), ' will stop and leave the list.'),
      h('label', { class: 'check', for: 'delete-data' }, checkbox, h('span', {}, 'Also delete downloaded files')),
      h('div', { class: 'dialog-actions' }, cancel, confirm));
    const dialog = h('dialog', { class: 'dialog', testid: 'confirm-dialog', 'aria-label': 'Remove torrent' }, form);
    let result: { deleteData: boolean } | null = null;
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      result = { deleteData: checkbox.checked };
      dialog.close();
    });
    cancel.addEventListener('click', () => dialog.close());
    // A click on the backdrop (outside the form) cancels.
    dialog.addEventListener('click', (e) => {
      if (e.target === dialog) dialog.close();
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(result);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}
