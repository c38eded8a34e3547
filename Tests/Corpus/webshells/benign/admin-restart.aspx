<%@ Page Language="C#" %>
<script runat="server">
// Restarts the configured reporting tool; the path comes from web.config, not the request.
void Restart(object s, EventArgs e) {
  var tool = System.Configuration.ConfigurationManager.AppSettings["reportTool"];
  System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(tool) { UseShellExecute = false });
  status.Text = "started";
}
</script>
<form runat="server"><asp:Button OnClick="Restart" runat="server" Text="Restart"/><asp:Label id="status" runat="server"/></form>
