import { download } from './save-file'

/**
 * Offers a ceremony record (HTML with its own print styles) as a download to
 * open and print. Not opened in a tab from a blob: URL, because such a page
 * takes this page's Content-Security-Policy, which forbids the record's inline
 * styles; opened from the file, the record keeps its own policy and layout.
 */
export function saveRecord(html: string, name = 'ceremony-record.html'): void {
  download(new Blob([html], { type: 'text/html' }), name)
}
