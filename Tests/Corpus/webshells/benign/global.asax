<%@ Application Language="C#" %>
<script runat="server">
void Application_Error(object sender, EventArgs e) {
  var ex = Server.GetLastError();
  System.Diagnostics.Trace.TraceError(ex == null ? "unknown" : ex.Message);
}
</script>
