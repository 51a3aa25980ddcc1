// Component tests run in jsdom with Testing Library's matchers.
import "@testing-library/jest-dom/vitest";
