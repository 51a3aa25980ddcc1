// The console's routes: public pages for signing up and in (and the links
// mailed by the API: /verify-email, /password-reset, /invitations/accept),
// everything else behind a login inside the layout.
import { Navigate, Route, Routes, useLocation } from "react-router";
import { Layout } from "./components/Layout";
import { Loading } from "./components/ui";
import { AcceptInvitation } from "./pages/AcceptInvitation";
import { ApiKeys } from "./pages/ApiKeys";
import { AuditLog } from "./pages/AuditLog";
import { Billing } from "./pages/Billing";
import { InstancePage } from "./pages/Instance";
import { Instances } from "./pages/Instances";
import { LogIn } from "./pages/LogIn";
import { Members } from "./pages/Members";
import { NewInstance } from "./pages/NewInstance";
import { ForgotPassword, ResetPassword } from "./pages/PasswordReset";
import { SignUp } from "./pages/SignUp";
import { VerifyEmail } from "./pages/VerifyEmail";
import { useSession } from "./session";

function RequireLogin({ children }: { children: React.ReactNode }) {
  const { me } = useSession();
  const location = useLocation();
  if (me === undefined) return <Loading what="your account" />;
  if (me === null) return <Navigate to={`/login?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  return <>{children}</>;
}

export function App() {
  return (
    <Routes>
      <Route path="/signup" element={<SignUp />} />
      <Route path="/login" element={<LogIn />} />
      <Route path="/forgot-password" element={<ForgotPassword />} />
      <Route path="/password-reset" element={<ResetPassword />} />
      <Route path="/verify-email" element={<VerifyEmail />} />
      <Route
        element={
          <RequireLogin>
            <Layout />
          </RequireLogin>
        }
      >
        <Route path="/" element={<Navigate to="/instances" replace />} />
        <Route path="/instances" element={<Instances />} />
        <Route path="/instances/new" element={<NewInstance />} />
        <Route path="/instances/:id/*" element={<InstancePage />} />
        <Route path="/billing" element={<Billing />} />
        <Route path="/api-keys" element={<ApiKeys />} />
        <Route path="/audit-log" element={<AuditLog />} />
        <Route path="/members" element={<Members />} />
        <Route path="/invitations/accept" element={<AcceptInvitation />} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is nothing at this address. <a href="/instances">Go to your instances.</a>
      </p>
    </section>
  );
}
