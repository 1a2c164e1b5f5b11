import type { JSX } from 'solid-js';

/** Small line icons (16×16, currentColor). Decorative: the control around them carries the name. */
function Icon(props: { children: JSX.Element; class?: string }) {
  return (
    <svg
      class={`icon${props.class ? ` ${props.class}` : ''}`}
      viewBox="0 0 16 16"
      width="16"
      height="16"
      fill="none"
      stroke="currentColor"
      stroke-width="1.4"
      stroke-linecap="round"
      stroke-linejoin="round"
      aria-hidden="true"
    >
      {props.children}
    </svg>
  );
}

export const ChevronIcon = (props: { class?: string }) => (
  <Icon class={props.class}>
    <path d="M6 4l4 4-4 4" />
  </Icon>
);
export const FileIcon = () => (
  <Icon>
    <path d="M4 1.5h5l3 3v10H4z" />
    <path d="M9 1.5v3h3" />
  </Icon>
);
export const FolderIcon = () => (
  <Icon>
    <path d="M1.5 3.5h4l1.5 1.5h7.5v8h-13z" />
  </Icon>
);
export const NewFileIcon = () => (
  <Icon>
    <path d="M8.5 14.5H3.5v-13h5l3 3v3" />
    <path d="M12.5 10v5M10 12.5h5" />
  </Icon>
);
export const NewFolderIcon = () => (
  <Icon>
    <path d="M8 13.5H1.5v-10h4L7 5h7.5v3" />
    <path d="M12.5 9.5v5M10 12h5" />
  </Icon>
);
export const RefreshIcon = () => (
  <Icon>
    <path d="M13.5 8a5.5 5.5 0 1 1-1.6-3.9" />
    <path d="M12.5 1.5v3h-3" />
  </Icon>
);
export const PencilIcon = () => (
  <Icon>
    <path d="M10.5 2.5l3 3-8 8h-3v-3z" />
  </Icon>
);
export const TrashIcon = () => (
  <Icon>
    <path d="M2.5 4h11M6 4V2.5h4V4M4 4l.7 9.5h6.6L12 4" />
  </Icon>
);
export const CloseIcon = () => (
  <Icon>
    <path d="M4 4l8 8M12 4l-8 8" />
  </Icon>
);
export const SunIcon = () => (
  <Icon>
    <circle cx="8" cy="8" r="3" />
    <path d="M8 1v1.5M8 13.5V15M1 8h1.5M13.5 8H15M3 3l1 1M12 12l1 1M3 13l1-1M12 4l1-1" />
  </Icon>
);
export const MoonIcon = () => (
  <Icon>
    <path d="M13.5 9.5A6 6 0 0 1 6.5 2.5a6 6 0 1 0 7 7z" />
  </Icon>
);
export const SystemThemeIcon = () => (
  <Icon>
    <rect x="1.5" y="2.5" width="13" height="9" rx="1" />
    <path d="M5.5 14.5h5M8 11.5v3" />
  </Icon>
);
export const CommandIcon = () => (
  <Icon>
    <path d="M2.5 4.5l3 3.5-3 3.5M7.5 12h6" />
  </Icon>
);
export const BackIcon = () => (
  <Icon>
    <path d="M10 3L5 8l5 5" />
  </Icon>
);
export const PanelIcon = () => (
  <Icon>
    <rect x="1.5" y="2.5" width="13" height="11" rx="1" />
    <path d="M1.5 9.5h13" />
  </Icon>
);
export const SidebarIcon = () => (
  <Icon>
    <rect x="1.5" y="2.5" width="13" height="11" rx="1" />
    <path d="M5.5 2.5v11" />
  </Icon>
);
