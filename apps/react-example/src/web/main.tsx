import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';

// StrictMode is on unless `?strict=0`: its double mount must still make one join per room.
const strict = new URLSearchParams(location.search).get('strict') !== '0';
createRoot(document.getElementById('root')!).render(
  strict ? (
    <StrictMode>
      <App />
    </StrictMode>
  ) : (
    <App />
  ),
);
