// The chat page's entry point: global styles, the saved theme, and the <chat-app> element.
import './styles/global.css';
import { applyTheme, loadTheme } from './lib/preferences.js';
import './components/chat-app.js';

applyTheme(loadTheme());
