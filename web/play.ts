/**
 * The /play bundle's entry (play.js, apart from app.js: it carries onnxruntime-web). onnxruntime-web's
 * threads are workers that load this same script; they must not draw a page.
 */
import { embeddedView } from './api.ts';
import { playPage, type PlayView } from './pages/play.ts';

if (typeof document !== 'undefined' && document.body?.dataset.page === 'play')
  playPage(embeddedView<PlayView>());
